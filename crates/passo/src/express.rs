//! `passo run --type`: Standard or Express, and what Express changes for a local run: the
//! Express validation rules and the shape of the execution's ARN.

use passo_asl::MachineType;
use passo_engine::ExecutionInfo;
use passo_tasks::Project;
use std::path::Path;

/// `--type`: CreateStateMachine's `type`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum RunType {
    #[value(name = "STANDARD")]
    Standard,
    #[value(name = "EXPRESS")]
    Express,
}

impl RunType {
    pub fn machine_type(self) -> MachineType {
        match self {
            RunType::Standard => MachineType::Standard,
            RunType::Express => MachineType::Express,
        }
    }

    /// The type the project declares for a definition file (`type = "EXPRESS"` on the
    /// `[state_machines.NAME]` whose `definition` is that file), else Standard.
    pub fn declared_for(project: &Project, definition: &Path) -> RunType {
        let Ok(file) = definition.canonicalize() else {
            return RunType::Standard;
        };
        let express = project.state_machines.iter().any(|(name, path)| {
            project.express_machines.contains(name) && path.canonicalize().is_ok_and(|p| p == file)
        });
        if express {
            RunType::Express
        } else {
            RunType::Standard
        }
    }

    /// The type of a state machine the project declares by name (nested executions).
    pub fn of_machine(project_express: &std::collections::BTreeSet<String>, name: &str) -> RunType {
        if project_express.contains(name) {
            RunType::Express
        } else {
            RunType::Standard
        }
    }
}

/// One step of SplitMix64: spreads a seed's bits over the whole word.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Gives an execution the ARN shape of an Express execution, keeping its region, account,
/// machine and name. The id AWS draws at random is drawn from the run's seed, so a run
/// replays with the same `$$.Execution.Id`.
pub fn make_express(info: &mut ExecutionInfo) {
    // AWS's five minutes: past them the execution times out (TIMED_OUT), as on AWS.
    info.max_duration_seconds = Some(300);
    let seed = info.seed;
    let parts: Vec<&str> = info.execution_arn.split(':').collect();
    let region = parts.get(3).copied().unwrap_or("us-east-1");
    let account = parts.get(4).copied().unwrap_or("123456789012");
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&splitmix64(seed).to_be_bytes());
    bytes[8..].copy_from_slice(&splitmix64(seed ^ 0x5eed).to_be_bytes());
    let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
    info.execution_arn = format!(
        "arn:aws:states:{region}:{account}:express:{}:{}:{id}",
        info.state_machine_name, info.execution_name
    );
}
