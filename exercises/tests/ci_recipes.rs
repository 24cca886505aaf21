//! The CI recipes in exercises/ci keep what their hosts read: the workflow, job and
//! output names GitHub Classroom's reporter tooling expects, the files each service
//! collects, and scripts that parse. (Running them is described in the README, "Grade
//! a class"; their grader commands are the ones tests/grader.rs runs.)

use std::path::PathBuf;
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

fn ci(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ci").join(name)
}

fn yaml(name: &str) -> Yaml {
    let text = std::fs::read_to_string(ci(name)).unwrap();
    YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .remove(0)
}

fn steps(job: &Yaml) -> &Vec<Yaml> {
    job["steps"].as_vec().expect("steps")
}

fn run_lines(job: &Yaml) -> String {
    steps(job)
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn classroom_workflow_has_the_names_the_reporter_tooling_expects() {
    let w = yaml("classroom.yml");
    assert_eq!(w["name"].as_str(), Some("Autograding Tests"));
    let job = &w["jobs"]["run-autograding-tests"];
    assert!(!job.is_badvalue(), "job run-autograding-tests");
    assert_eq!(job["if"].as_str(), Some("github.actor != 'github-classroom[bot]'"));
    let grader = steps(job)
        .iter()
        .find(|s| s["id"].as_str() == Some("lab"))
        .expect("a step with id lab");
    let run = grader["run"].as_str().unwrap();
    assert!(
        run.contains("--classroom ") && run.contains("GITHUB_OUTPUT"),
        "the grader writes result= to $GITHUB_OUTPUT: {run}"
    );
    let reporter = steps(job)
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("classroom-resources/autograding-grading-reporter@"))
        })
        .expect("the reporter");
    assert_eq!(reporter["with"]["runners"].as_str(), Some("lab"));
    // The reporter reads <RUNNER>_RESULTS, upper-cased.
    assert_eq!(
        reporter["env"]["LAB_RESULTS"].as_str(),
        Some("${{ steps.lab.outputs.result }}")
    );
}

#[test]
fn the_plain_workflow_summarises_annotates_and_keeps_the_files() {
    let w = yaml("github-actions.yml");
    let job = &w["jobs"]["grade"];
    assert_eq!(job["runs-on"].as_str(), Some("ubuntu-latest"));
    let run = run_lines(job);
    assert!(
        run.contains("GITHUB_STEP_SUMMARY") && run.contains("GITHUB_ACTIONS"),
        "summary and annotations reach the grader: {run}"
    );
    assert!(run.contains("--junit junit.xml") && run.contains("--tap results.tap"));
    assert!(
        run.contains("--explain --html report.html"),
        "the pictures in the summary: {run}"
    );
    assert!(
        !run.contains("|| true") && !run.contains("test $?"),
        "points missing must fail the job: {run}"
    );
    let upload = steps(job)
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/upload-artifact@"))
        })
        .unwrap();
    let paths = upload["with"]["path"].as_str().unwrap();
    assert!(paths.contains("junit.xml") && paths.contains("results.tap"));
    assert_eq!(upload["if"].as_str(), Some("always()"));
}

#[test]
fn gitlab_keeps_the_junit_report() {
    let w = yaml("gitlab-ci.yml");
    let job = &w["grade"];
    assert_eq!(job["artifacts"]["reports"]["junit"].as_str(), Some("junit.xml"));
    assert_eq!(job["artifacts"]["when"].as_str(), Some("always"));
    let script = job["script"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(script.contains("--junit $CI_PROJECT_DIR/junit.xml"), "{script}");
    assert!(
        script.contains("--explain --html $CI_PROJECT_DIR/report.html"),
        "{script}"
    );
}

#[test]
fn the_scripts_parse_and_are_executable() {
    use std::os::unix::fs::PermissionsExt;
    for s in [
        "gradescope/setup.sh",
        "gradescope/run_autograder",
        "gradescope/make-zip.sh",
    ] {
        let p = ci(s);
        assert!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o111 != 0,
            "{s} is not executable"
        );
        let st = Command::new("bash").arg("-n").arg(&p).status().unwrap();
        assert!(st.success(), "bash -n {s}");
    }
    let py = ci("classroom50/autograder.py");
    assert!(std::fs::metadata(&py).unwrap().permissions().mode() & 0o111 != 0);
    let text = std::fs::read_to_string(&py).unwrap();
    assert!(text.contains("--classroom50") && text.contains("release-body.md") && text.contains("GITHUB_OUTPUT"));
    match Command::new("python3")
        .args(["-c", "import ast, sys; ast.parse(open(sys.argv[1]).read())"])
        .arg(&py)
        .status()
    {
        Ok(st) => assert!(st.success(), "python3 cannot parse {}", py.display()),
        Err(e) => panic!("python3 is needed to check {}: {e}", py.display()),
    }
}
