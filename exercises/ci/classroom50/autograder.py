#!/usr/bin/env python3
"""Classroom 50 autograder for the container-lab exercises.

Classroom 50 (foundation50/classroom50) runs an assignment's `autograder.py` in the
student's checkout on a GitHub-hosted runner (Ubuntu, cgroup v2 under systemd, root
through sudo), with the submission in the environment (CLASSROOM, ASSIGNMENT,
SUBMISSION_TAG, COMMIT_URL, RELEASE_URL, REVIEW_URL). This script builds the lab
suite, grades the student's runtime with it and leaves what the runner collects:

  result.json      schema classroom50/result/v1, written by `grade --classroom50`
  release-body.md  the Markdown summary (points per exercise, failing checks, hints)
  $GITHUB_OUTPUT   status=success|failure and a one-line summary

Settings (environment, all optional):
  LAB_SUITE    a checkout of the lab suite to use as it is (default: clone LAB_REPO)
  LAB_REPO     git URL of the lab suite to clone into .lab
  LAB_REF      the tag or branch to clone (pin it for a course; default main)
  LAB_RUNTIME  the student's runtime, relative to the checkout (default runtime.sh)
  LAB_TOPIC    grade one topic only (namespaces, cgroups, overlay, security)
  LAB_LANG     en or ko for titles and hints (default en)

Exit status: 0 when a result was written (failing checks are points, not an
error of this script); 1 when none could be (the suite could not be built).
"""

import os
import pathlib
import shlex
import subprocess
import sys

WORKSPACE = pathlib.Path.cwd()


def run(cmd, **kw):
    print("+", " ".join(shlex.quote(str(c)) for c in cmd), flush=True)
    return subprocess.run(cmd, **kw)


def sudo():
    return [] if os.geteuid() == 0 else ["sudo", "--preserve-env"]


def output(**pairs):
    path = os.environ.get("GITHUB_OUTPUT")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            for k, v in pairs.items():
                f.write(f"{k}={v}\n")


def suite():
    given = os.environ.get("LAB_SUITE")
    if given:
        return pathlib.Path(given).resolve()
    repo = os.environ.get("LAB_REPO")
    if not repo:
        raise SystemExit("set LAB_REPO (git URL of the lab suite) or LAB_SUITE (a checkout)")
    dest = WORKSPACE / ".lab"
    if not dest.exists():
        run(["git", "clone", "--depth", "1", "--branch", os.environ.get("LAB_REF", "main"), repo, str(dest)], check=True)
    # What the checks use (a GitHub-hosted runner has the rest).
    run(sudo() + ["apt-get", "update", "-qq"], check=False)
    run(sudo() + ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "iproute2", "util-linux", "nftables", "libc6-dev"], check=False)
    return dest


def main():
    for k in ("CLASSROOM", "ASSIGNMENT", "SUBMISSION_TAG", "COMMIT_URL", "RELEASE_URL", "REVIEW_URL"):
        print(f"{k}={os.environ.get(k, '')}")
    lab = suite()
    built = run(["make", "-C", str(lab), "build"])
    if built.returncode != 0:
        output(status="failure", summary="the lab suite could not be built")
        return 1
    bins = sorted(lab.glob("target/*/debug/grade"))
    if not bins:
        output(status="failure", summary="no grade binary after the build")
        return 1
    runtime = (WORKSPACE / os.environ.get("LAB_RUNTIME", "runtime.sh")).resolve()
    if runtime.is_file():
        runtime.chmod(runtime.stat().st_mode | 0o111)
    cmd = sudo() + ["env", f"LAB_RUNTIME={runtime}", str(bins[0]),
                    "--classroom50", str(WORKSPACE / "result.json"),
                    "--markdown", str(WORKSPACE / "release-body.md"),
                    "--explain",
                    "--junit", str(WORKSPACE / "junit.xml"),
                    "--lang", os.environ.get("LAB_LANG", "en")]
    topic = os.environ.get("LAB_TOPIC")
    if topic:
        cmd += ["--topic", topic]
    graded = run(cmd)
    # grade: 0 nothing failed, 1 a check failed, 2 the host could not grade (it still
    # wrote every file, each check broken with the reason).
    result = WORKSPACE / "result.json"
    if not result.is_file():
        output(status="failure", summary=f"grade exited {graded.returncode} without a result")
        return 1
    import json
    r = json.loads(result.read_text(encoding="utf-8"))
    summary = f"{r['score']}/{r['max-score']} points"
    if graded.returncode == 2:
        summary += " (the grading host could not grade every check: see release-body.md)"
    output(status="success", summary=summary)
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
