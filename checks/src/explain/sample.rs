//! A fixed explanation (the shape of a v2 host's, with made-up figures) for the
//! snapshots of every form and for the documentation: drawing it measures nothing.

use super::*;

fn ns(partial: bool) -> Namespaces {
    let kinds = NAMESPACES
        .iter()
        .enumerate()
        .map(|(i, (name, ex))| {
            let host = 4026531834 + i as u64;
            let own = !partial || matches!(*name, "pid" | "uts" | "mnt");
            NsKind {
                name: name.to_string(),
                host: Some(host),
                inside: Some(if own { 4026532400 + i as u64 } else { host }),
                exercise: ex.to_string(),
            }
        })
        .collect();
    let tree = if partial {
        vec![
            proc(48200, None, "bash", 0),
            proc(48206, None, "unshare", 1),
            proc(48207, Some(1), "bash", 2),
            proc(48213, Some(4), "probe", 3),
        ]
    } else {
        vec![
            proc(48200, None, "harness", 0),
            proc(48213, Some(1), "harness", 1),
            proc(48214, Some(2), "probe", 2),
        ]
    };
    Namespaces {
        missing: None,
        kinds,
        host_hostname: "lab-host".into(),
        hostname: Some("container-a".into()),
        tree,
        host_pids: 131,
        visible_pids: 2,
    }
}

fn proc(host_pid: i32, inside_pid: Option<u64>, name: &str, depth: usize) -> Proc {
    Proc {
        host_pid,
        inside_pid,
        name: name.into(),
        depth,
    }
}

fn limit(flag: &str, file: &str, asked: &str, read: &str, exercise: &str) -> Limit {
    Limit {
        flag: flag.into(),
        file: file.into(),
        asked: asked.into(),
        read: Some(read.into()),
        exercise: exercise.into(),
    }
}

fn cg_container(plan: &Plan, name: &str, memory: u64, pids: u64, usage_usec: u64, throttled: u64) -> CgContainer {
    CgContainer {
        label: plan.label.into(),
        name: name.into(),
        missing: None,
        path: Some(format!("/system.slice/lab.scope/lab-check-48190x0/{name}")),
        inside_path: Some(if plan.label == "A" {
            "/".into()
        } else {
            format!("/system.slice/lab.scope/lab-check-48190x0/{name}")
        }),
        limits: vec![
            limit(
                &format!("--memory {}", plan.memory),
                "memory.max",
                &plan.memory.to_string(),
                &plan.memory.to_string(),
                "cg-memory",
            ),
            limit(
                &format!("--cpus {}/{CPU_PERIOD}", plan.cpu_quota),
                "cpu.max",
                &format!("{} {CPU_PERIOD}", plan.cpu_quota),
                &format!("{} {CPU_PERIOD}", plan.cpu_quota),
                "cg-cpu",
            ),
            limit(
                &format!("--cpu-weight {}", plan.weight),
                "cpu.weight",
                &plan.weight.to_string(),
                &plan.weight.to_string(),
                "cg-guarantee",
            ),
            limit(
                &format!("--pids {}", plan.pids),
                "pids.max",
                &plan.pids.to_string(),
                &plan.pids.to_string(),
                "cg-pids",
            ),
        ],
        usage: vec![
            Usage {
                what: "memory".into(),
                current: memory,
                limit: Some(plan.memory),
                bytes: true,
            },
            Usage {
                what: "pids".into(),
                current: pids,
                limit: Some(plan.pids),
                bytes: false,
            },
        ],
        counters: vec![
            Counter {
                name: "cpu usage_usec".into(),
                value: Some(usage_usec),
            },
            Counter {
                name: "cpu nr_periods".into(),
                value: Some(4),
            },
            Counter {
                name: "cpu nr_throttled".into(),
                value: Some(throttled),
            },
            Counter {
                name: "oom_kill".into(),
                value: Some(0),
            },
        ],
    }
}

/// The reference runtime's pictures (`partial: false`), or a runtime with only the
/// PID and UTS exercises done (`partial: true`: its cgroup and layers greyed).
pub fn sample(partial: bool) -> Explanation {
    let a = "explain-a-48190x1";
    let b = "explain-b-48190x2";
    let mut cgroups = Cgroups {
        version: 2,
        parent: "lab-check-48190x0".into(),
        containers: vec![
            cg_container(&A, a, 10_223_616, 2, 151_234, 3),
            cg_container(&B, b, 1_560_576, 1, 2_817, 0),
        ],
    };
    let lowers = vec![
        LayerDir {
            name: "base".into(),
            path: "/tmp/lab-check-48190-0/rootfs".into(),
            files: 5,
            bytes: 15_925_248,
        },
        LayerDir {
            name: "app".into(),
            path: "/tmp/lab-check-48190-0/layer-app".into(),
            files: 2,
            bytes: 14,
        },
    ];
    let mut layers = Layers {
        missing: None,
        lowers,
        upper: LayerDir {
            name: "upper".into(),
            path: "/tmp/lab-check-48190-0/a-upper".into(),
            files: 3,
            bytes: 15,
        },
        work: "/tmp/lab-check-48190-0/a-work".into(),
        root_fstype: Some("overlay".into()),
        copied_up: vec!["/app/config".into()],
        whiteouts: vec!["/etc/old.conf".into()],
        created: vec!["/app/log.txt".into()],
        sharing: Sharing {
            missing: None,
            file: SHARED_FILE.into(),
            file_bytes: 15_925_000,
            host_ino: Some(10_019_098),
            a_ino: Some(10_019_098),
            b_ino: Some(10_019_098),
            upper_b: Some(LayerDir {
                name: "upper B".into(),
                path: "/tmp/lab-check-48190-0/b-upper".into(),
                files: 0,
                bytes: 0,
            }),
        },
    };
    let mut notes = Vec::new();
    let mut commands = vec![Started {
        command: "/opt/lab/harness run --ns pid,uts,mnt,ipc,net,user,cgroup,time --hostname container-a … -- /bin/probe scene …".into(),
        failed: None,
    }];
    if partial {
        let failed = crate::t!(
            "exit status 127: `runtime error: /bin/probe: No such file or directory (ENOENT)`",
            "종료 상태 127: `runtime error: /bin/probe: No such file or directory (ENOENT)`"
        );
        notes.push(crate::t!(
            "The container did not start with everything at once ({failed}); each picture comes from a container of its own.",
            "모든 기능을 한 번에 켠 컨테이너가 시작되지 않아({failed}) 그림마다 따로 컨테이너를 띄웠습니다."
        ));
        commands = vec![
            Started {
                command: "./runtime.sh run --ns pid,uts,mnt,ipc,net,user,cgroup,time … -- /bin/probe scene …".into(),
                failed: Some(failed.clone()),
            },
            Started {
                command: "./runtime.sh run --ns pid,uts,mnt,ipc,net,cgroup,time --hostname container-a -- /opt/lab/probe scene …".into(),
                failed: None,
            },
        ];
        for c in &mut cgroups.containers {
            let name = c.name.clone();
            c.missing = Some(Missing {
                why: crate::t!(
                    "its process is in {}, not in a cgroup {name} of its own",
                    "프로세스가 자기 cgroup {name}이(가) 아니라 {}에 있음",
                    "/system.slice/lab.scope/lab-check-48190x0"
                ),
                exercise: "ns-cgroup-time".into(),
            });
            c.path = Some("/system.slice/lab.scope/lab-check-48190x0".into());
            c.limits.clear();
            c.usage.clear();
            c.counters.clear();
        }
        layers.missing = Some(Missing {
            why: failed.clone(),
            exercise: "ufs-layers".into(),
        });
        layers.root_fstype = None;
        layers.copied_up.clear();
        layers.whiteouts.clear();
        layers.created.clear();
        layers.upper.files = 0;
        layers.upper.bytes = 0;
        layers.sharing.a_ino = None;
        layers.sharing.b_ino = None;
        layers.sharing.upper_b = None;
        layers.sharing.missing = layers.missing.clone();
    }
    Explanation {
        runtime: if partial {
            "./runtime.sh".into()
        } else {
            "/opt/lab/harness".into()
        },
        commands,
        notes,
        namespaces: ns(partial),
        cgroups,
        layers,
    }
}
