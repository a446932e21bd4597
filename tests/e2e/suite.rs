//! Runs every scenario against one shared store, a few at a time, and reports all failures by name.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use switchboard_tests::Env;
use tokio::sync::Semaphore;

pub type Scenario = (
    &'static str,
    fn(Env) -> Pin<Box<dyn Future<Output = ()> + Send>>,
);

/// How many scenarios run at once: enough to finish quickly on 2 cores, few enough that no request
/// comes near the test channels' deadlines.
const PARALLEL: usize = 4;

pub async fn run_all(env: Env) {
    let gate = Arc::new(Semaphore::new(PARALLEL));
    let mut tasks = Vec::new();
    for (name, scenario) in crate::all() {
        let (env, gate) = (env.clone(), gate.clone());
        tasks.push((
            name,
            tokio::spawn(async move {
                let _permit = gate.acquire_owned().await.expect("semaphore open");
                scenario(env).await;
            }),
        ));
    }
    let mut failed = Vec::new();
    for (name, task) in tasks {
        if let Err(e) = task.await {
            failed.push(format!("{name}: {e}"));
        }
    }
    assert!(
        failed.is_empty(),
        "{} scenario(s) failed on {}:\n{}",
        failed.len(),
        env.name(),
        failed.join("\n")
    );
}
