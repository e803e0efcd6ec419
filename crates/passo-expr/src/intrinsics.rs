//! The 18 intrinsic functions, with AWS's argument checks and messages.

use crate::error::ExprError;
use crate::scope::Scope;
use passo_asl::intrinsic::Call;
use serde_json::Value;

/// Evaluates an intrinsic call.
pub fn eval(call: &Call, scope: &Scope<'_>) -> Result<Value, ExprError> {
    let _ = scope;
    Err(ExprError::intrinsic(format!(
        "States.{} is not implemented yet",
        call.function.name()
    )))
}
