//! Amazon States Language: definitions loaded and checked, then run locally on a virtual clock.

// [`StateMachine::parse`] refuses, with the place and the reason, anything the engine does not
// implement; [`execute`] runs a machine against a [`Resolver`] that carries out its Task states.
// Callback tasks wait in the [`TaskTokens`] given by [`Start::with_tokens`], answered by callers.

pub mod choice;
pub mod definition;
pub mod engine;
pub mod intrinsic;
pub mod path;
pub mod template;

pub use definition::{LoadError, StateMachine};
pub use engine::{
    ABORTED, CallbackError, Event, Execution, Failure, NoTasks, PendingTask, Redrive, RedriveError, Resolver, Start,
    Status, TaskContext, TaskOutput, TaskRequest, TaskTokens, execute, redrive,
};
