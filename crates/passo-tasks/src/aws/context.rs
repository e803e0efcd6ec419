//! The process's AWS settings: passo.toml's `[aws]` table (set when a project is loaded),
//! the shared files (read once, when first needed), each service's resolved region and
//! endpoint (worked out once per service: the environment does not change under a running
//! process), and the credentials cache. [`super::call`] keeps its signature for every
//! integration that calls it, so the settings are found here rather than passed in.

use super::credentials::{Cache, Credentials, CredentialsError, Sources};
use super::files::SharedFiles;
use super::settings::{self, ProjectAws, Resolved};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

pub struct Context {
    project: ProjectAws,
    files: OnceLock<SharedFiles>,
    routes: Mutex<HashMap<String, Resolved>>,
    /// Shared with the contexts routes derive from this one.
    credentials: Arc<Cache>,
}

fn slot() -> &'static RwLock<Arc<Context>> {
    static CURRENT: OnceLock<RwLock<Arc<Context>>> = OnceLock::new();
    CURRENT.get_or_init(|| RwLock::new(Arc::new(Context::new(ProjectAws::default()))))
}

/// Makes `project` the settings of every call from now on.
pub fn configure(project: ProjectAws) {
    let mut current = slot().write().unwrap_or_else(|e| e.into_inner());
    if current.project != project {
        *current = Arc::new(Context::new(project));
    }
}

tokio::task_local! {
    /// Settings a route put in force for one Task (see `crate::routes`).
    static ROUTED: Arc<Context>;
}

/// The settings in force: a route's for the Task being run, else the process's.
pub fn current() -> Arc<Context> {
    if let Ok(c) = ROUTED.try_with(Arc::clone) {
        return c;
    }
    slot().read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Runs `f` with every service sent to `endpoint` (the process's regions, profile and
/// credentials otherwise): what a route to `local`, `aws` or a URL does.
pub async fn routed<F: std::future::Future>(
    endpoint: settings::EndpointSetting,
    f: F,
) -> F::Output {
    let base = current();
    let mut project = base.project.clone();
    project.endpoint = Some(endpoint);
    for s in project.services.values_mut() {
        s.endpoint = None;
    }
    let ctx = Arc::new(Context {
        project,
        files: base.files.clone(),
        routes: Mutex::new(HashMap::new()),
        credentials: base.credentials.clone(),
    });
    ROUTED.scope(ctx, f).await
}

impl Context {
    pub fn new(project: ProjectAws) -> Context {
        Context {
            project,
            files: OnceLock::new(),
            routes: Mutex::new(HashMap::new()),
            credentials: Arc::new(Cache::default()),
        }
    }

    /// Settings that sign with `credentials` rather than looking for any (benchmarks, tests).
    pub fn with_credentials(project: ProjectAws, credentials: Credentials) -> Context {
        Context {
            credentials: Arc::new(Cache::holding(credentials)),
            files: OnceLock::from(SharedFiles::default()),
            ..Context::new(project)
        }
    }

    fn files(&self) -> &SharedFiles {
        self.files
            .get_or_init(|| SharedFiles::load(&settings::process_env))
    }

    /// The region and target of a service (by serviceId).
    pub fn route(&self, service_id: &str) -> Resolved {
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = routes.get(service_id) {
            return r.clone();
        }
        let r = settings::resolve(
            &self.project,
            self.files(),
            &settings::process_env,
            service_id,
        );
        routes.insert(service_id.to_string(), r.clone());
        r
    }

    /// Credentials to sign with, from the chain (kept while fresh).
    pub async fn credentials(
        &self,
        http: &reqwest::Client,
    ) -> Result<Option<Arc<Credentials>>, CredentialsError> {
        let src = Sources {
            project: &self.project,
            files: self.files(),
            env: &settings::process_env,
            http,
        };
        self.credentials.get(&src).await
    }
}
