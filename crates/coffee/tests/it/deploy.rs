//! The deployment files cannot be run here (no container engine on this machine), so they
//! are checked against the code: every service runs a real `coffee` command, every setting
//! is an environment variable that command reads, every reference (a URL, a ConfigMap key,
//! a probe path, a service a container depends on) points at something defined.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;

use clap::CommandFactory;
use coffee::cli::Cli;
use serde_norway::Value;

fn repo() -> PathBuf {
    coffee_testkit::workspace_root()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The environment variables each `coffee` command reads, from the CLI definition itself.
fn commands() -> HashMap<String, HashSet<String>> {
    Cli::command()
        .get_subcommands()
        .map(|sub| {
            let mut vars: HashSet<String> =
                sub.get_arguments().filter_map(|a| a.get_env().map(|e| e.to_string_lossy().into_owned())).collect();
            // Read by the log filter (tracing-subscriber), in every command.
            vars.insert("RUST_LOG".to_owned());
            (sub.get_name().to_owned(), vars)
        })
        .collect()
}

/// `http://name:port/...` and `nats://name:port` point at a host name; `postgres://u:p@name:port/db` too.
fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let host = rest.split(['/', ':']).next()?;
    (!host.is_empty()).then(|| host.to_owned())
}

fn str_list(v: &Value) -> Vec<String> {
    v.as_sequence().map(|s| s.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

#[test]
fn the_compose_file_runs_real_commands_with_settings_they_read() {
    let mut compose: Value = serde_norway::from_str(&read("deploy/compose.yaml")).expect("compose.yaml is YAML");
    compose.apply_merge().expect("merge keys resolve");
    let services = compose["services"].as_mapping().expect("services");
    let names: HashSet<String> = services.keys().filter_map(|k| k.as_str().map(str::to_owned)).collect();
    let commands = commands();
    let mut ours = BTreeSet::new();
    for (name, service) in services {
        let name = name.as_str().expect("name");
        for dep in service["depends_on"]
            .as_mapping()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_else(|| service["depends_on"].as_sequence().cloned().unwrap_or_default())
        {
            let dep = dep.as_str().expect("dependency name");
            assert!(names.contains(dep), "{name} depends on {dep}, which the file does not define");
        }
        if service["image"].as_str() != Some("event-driven-coffee") {
            continue;
        }
        let command = str_list(&service["command"]);
        let sub = command.first().unwrap_or_else(|| panic!("{name} has no command"));
        let vars = commands.get(sub).unwrap_or_else(|| panic!("{name} runs `coffee {sub}`, which does not exist"));
        ours.insert(sub.clone());
        // A health check that asks the process whether it can serve, not one that always passes.
        let check = str_list(&service["healthcheck"]["test"]);
        assert_eq!(check.get(..3), Some(&["CMD".to_owned(), "coffee".to_owned(), "health".to_owned()][..]), "{name}");
        assert!(commands.contains_key("health"), "`coffee health` exists");
        let env = service["environment"].as_mapping().unwrap_or_else(|| panic!("{name} has no environment"));
        for (key, value) in env {
            let key = key.as_str().expect("key");
            assert!(vars.contains(key), "{name}: `coffee {sub}` does not read {key}");
            if let Some(host) = value.as_str().filter(|v| v.contains("://")).and_then(host_of) {
                assert!(names.contains(&host), "{name}: {key} points at {host}, which the file does not define");
            }
        }
    }
    let expected: BTreeSet<String> = ["order", "payment", "fulfilment", "gateway"].map(String::from).into();
    assert_eq!(ours, expected, "one container per service, and the gateway");
    let text = read("deploy/compose.yaml");
    assert!(text.contains("--scale fulfilment=2"), "the file documents how to run two replicas");
}

/// Every document of every manifest in deploy/k8s.
fn manifests() -> Vec<(String, Value)> {
    let mut docs = Vec::new();
    let dir = repo().join("deploy/k8s");
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("deploy/k8s").flatten().map(|e| e.path()).collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable");
        for doc in serde_norway::Deserializer::from_str(&text) {
            let value = serde::Deserialize::deserialize(doc).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            docs.push((path.display().to_string(), value));
        }
    }
    docs
}

#[test]
fn the_kubernetes_manifests_run_real_commands_and_every_reference_resolves() {
    let docs = manifests();
    let kind = |v: &Value| v["kind"].as_str().unwrap_or_default().to_owned();
    let name = |v: &Value| v["metadata"]["name"].as_str().unwrap_or_default().to_owned();
    let mut keys: HashMap<(String, String), HashSet<String>> = HashMap::new();
    let mut services = HashSet::new();
    let mut workload_labels = Vec::new();
    for (_, doc) in &docs {
        match kind(doc).as_str() {
            k @ ("ConfigMap" | "Secret") => {
                let data = doc.get("data").or_else(|| doc.get("stringData")).and_then(Value::as_mapping);
                let set =
                    data.map(|m| m.keys().filter_map(|k| k.as_str().map(str::to_owned)).collect()).unwrap_or_default();
                keys.insert((k.to_owned(), name(doc)), set);
            }
            "Service" => {
                services.insert(name(doc));
            }
            "Deployment" | "StatefulSet" => workload_labels.push(doc["spec"]["template"]["metadata"]["labels"].clone()),
            _ => {}
        }
    }
    let commands = commands();
    let mut deployed = BTreeSet::new();
    for (file, doc) in &docs {
        if kind(doc) == "Service" {
            let selector = &doc["spec"]["selector"];
            assert!(workload_labels.iter().any(|l| l == selector), "{file}: service {} selects no workload", name(doc));
        }
        if kind(doc) != "Deployment" {
            continue;
        }
        let container = &doc["spec"]["template"]["spec"]["containers"][0];
        let sub = str_list(&container["args"]).first().cloned().unwrap_or_default();
        let vars = commands.get(&sub).unwrap_or_else(|| panic!("{file}: `coffee {sub}` does not exist"));
        deployed.insert(sub.clone());
        for env in container["env"].as_sequence().expect("env") {
            let var = env["name"].as_str().expect("name");
            assert!(vars.contains(var), "{file}: `coffee {sub}` does not read {var}");
            for (reference, kind) in [("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")] {
                let r = &env["valueFrom"][reference];
                if let (Some(of), Some(key)) = (r["name"].as_str(), r["key"].as_str()) {
                    let known = keys.get(&(kind.to_owned(), of.to_owned()));
                    assert!(
                        known.is_some_and(|k| k.contains(key)),
                        "{file}: {var} reads {kind} {of}/{key}, not defined"
                    );
                }
            }
            if let Some(host) = env["value"].as_str().filter(|v| v.contains("://")).and_then(host_of) {
                assert!(services.contains(&host), "{file}: {var} points at {host}, no such Service");
            }
        }
        let annotations = &doc["spec"]["template"]["metadata"]["annotations"];
        for (key, value) in
            [("prometheus.io/scrape", "true"), ("prometheus.io/port", "8080"), ("prometheus.io/path", "/metrics")]
        {
            assert_eq!(annotations[key].as_str(), Some(value), "{file}: the pods say how to scrape them");
        }
        // Built and loaded locally: `Always` (the default for `:latest`) would pull from a
        // registry that has no such image.
        assert_eq!(container["imagePullPolicy"].as_str(), Some("IfNotPresent"), "{file}");
        for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
            assert_eq!(container[probe]["httpGet"]["path"].as_str(), Some(path), "{file}: {probe}");
        }
    }
    let expected: BTreeSet<String> = ["order", "payment", "fulfilment", "gateway"].map(String::from).into();
    assert_eq!(deployed, expected, "a Deployment per service, and the gateway");
    for needed in ["nats", "postgres"] {
        assert!(services.contains(needed), "a {needed} reference is part of the manifests");
    }
    let bus = keys.get(&("ConfigMap".to_owned(), "coffee-config".to_owned())).expect("coffee-config");
    assert!(bus.contains("COFFEE_BUS"));
}

#[test]
fn the_dockerfile_builds_the_binary_with_its_web_app_in_stages() {
    let dockerfile = read("deploy/Dockerfile");
    assert!(dockerfile.matches("\nFROM ").count() + usize::from(dockerfile.starts_with("FROM")) >= 3, "multi-stage");
    assert!(dockerfile.contains("cargo build --release --locked -p coffee"));
    assert!(dockerfile.contains("npm ci") && dockerfile.contains("npm run build"));
    assert!(dockerfile.contains("ENTRYPOINT [\"coffee\"]"));
    for line in dockerfile.lines().filter(|l| l.starts_with("COPY ") && !l.contains("--from")) {
        let words: Vec<&str> = line.split_whitespace().collect();
        // COPY <source>... <destination>
        for source in &words[1..words.len().saturating_sub(1)] {
            if *source != "." {
                assert!(
                    repo().join(source.trim_end_matches('/')).exists(),
                    "Dockerfile copies {source}, which is missing"
                );
            }
        }
    }
    assert!(dockerfile.contains("HEALTHCHECK") && dockerfile.contains("\"coffee\", \"health\""), "a real health check");
    // The build context leaves out what is built or installed on the host: `COPY frontend/`
    // must not copy the host's node_modules over the image's `npm ci`.
    let ignored: Vec<String> = read(".dockerignore").lines().map(str::trim).map(str::to_owned).collect();
    for needed in ["target", ".tools", "**/node_modules", ".git"] {
        assert!(ignored.iter().any(|l| l == needed), ".dockerignore leaves out {needed}");
    }
    let nats = read("deploy/nats.conf");
    assert!(nats.contains("sync_interval: always"), "the reference NATS config must not lose acknowledged events");
}

#[test]
fn urls_name_their_hosts() {
    assert_eq!(host_of("http://order:8080").as_deref(), Some("order"));
    assert_eq!(host_of("postgres://coffee:coffee@postgres:5432/coffee").as_deref(), Some("postgres"));
    assert_eq!(host_of("nats://nats:4222").as_deref(), Some("nats"));
    assert_eq!(host_of("not a url"), None);
}

/// The README's tables list every flag of `coffee serve` (the services' flags are a subset).
#[test]
fn the_readme_lists_every_flag_of_serve() {
    let readme = read("README.md");
    let serve = Cli::command().find_subcommand("serve").cloned().expect("serve");
    let missing: Vec<String> = serve
        .get_arguments()
        .filter_map(|a| a.get_long())
        .filter(|long| !["help", "version"].contains(long))
        .map(|long| format!("--{long}"))
        .filter(|flag| !readme.contains(&format!("| `{flag}` |")))
        .collect();
    assert!(missing.is_empty(), "README.md has no table row for {missing:?}");
}
