//! Amazon States Language: definitions loaded and checked, then run locally on a virtual clock.

// [`StateMachine::parse`] refuses, with the place and the reason, anything the engine does not
// implement; [`execute`] runs a machine against a [`Resolver`] that carries out its Task states.

pub mod choice;
pub mod definition;
pub mod engine;
pub mod intrinsic;
pub mod path;
pub mod template;

pub use definition::{LoadError, StateMachine};
pub use engine::{
    Event, Execution, Failure, NoTasks, Resolver, Start, Status, TaskContext, TaskOutput, TaskRequest, execute,
};
