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
    credentials: Cache,
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

/// The settings in force.
pub fn current() -> Arc<Context> {
    slot().read().unwrap_or_else(|e| e.into_inner()).clone()
}

impl Context {
    pub fn new(project: ProjectAws) -> Context {
        Context {
            project,
            files: OnceLock::new(),
            routes: Mutex::new(HashMap::new()),
            credentials: Cache::default(),
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
