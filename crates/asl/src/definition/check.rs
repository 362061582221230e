//! Whole-machine checks once every state is read: transitions, reachability, an end.

use std::collections::BTreeSet;

use super::obj::fail;
use super::{Kind, LoadError, Next, State, StateMachine};

impl StateMachine {
    /// Every transition lands on a state of this machine, every state is reachable, and something
    /// ends the machine.
    pub(super) fn check(&self, at: &str) -> Result<(), LoadError> {
        let exists = |target: &str, from: &str| -> Result<(), LoadError> {
            if self.states.contains_key(target) {
                Ok(())
            } else {
                Err(fail(from, format!("transition to `{target}`, which is not a state of this machine")))
            }
        };
        exists(&self.start_at, &format!("{at}/StartAt"))?;
        let mut terminal = false;
        for (name, state) in &self.states {
            let here = format!("{at}/States/{name}");
            for target in state.targets() {
                exists(target, &here)?;
            }
            terminal |=
                matches!(state.next, Some(Next::End)) || matches!(state.kind, Kind::Succeed | Kind::Fail { .. });
            match &state.kind {
                Kind::Parallel { branches, .. } => {
                    for (i, b) in branches.iter().enumerate() {
                        b.check(&format!("{here}/Branches/{i}"))?;
                    }
                }
                Kind::Map { processor, .. } => processor.check(&format!("{here}/ItemProcessor"))?,
                _ => {}
            }
        }
        if !terminal {
            return Err(fail(at, "no state ends the machine (End, Succeed or Fail)"));
        }
        let mut seen = BTreeSet::new();
        let mut stack = vec![self.start_at.as_str()];
        while let Some(name) = stack.pop() {
            if seen.insert(name)
                && let Some(state) = self.states.get(name)
            {
                stack.extend(state.targets());
            }
        }
        if let Some(unreachable) = self.states.keys().find(|k| !seen.contains(k.as_str())) {
            return Err(fail(&format!("{at}/States/{unreachable}"), "state is not reachable from StartAt"));
        }
        Ok(())
    }
}

impl State {
    fn targets(&self) -> Vec<&str> {
        let mut out = Vec::new();
        if let Some(Next::State(n)) = &self.next {
            out.push(n.as_str());
        }
        match &self.kind {
            Kind::Choice { choices, default } => {
                out.extend(choices.iter().map(|c| c.next.as_str()));
                out.extend(default.as_deref());
            }
            Kind::Task { catch, .. } | Kind::Parallel { catch, .. } | Kind::Map { catch, .. } => {
                out.extend(catch.iter().map(|c| c.next.as_str()));
            }
            _ => {}
        }
        out
    }
}
