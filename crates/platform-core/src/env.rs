//! Function settings from the environment: read once at init, failing fast with the variable's name.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {0} is not set")]
pub struct MissingVariable(pub String);

/// The value of `name`, or an error naming it.
pub fn required(name: &str) -> Result<String, MissingVariable> {
    std::env::var(name).map_err(|_| MissingVariable(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_variable_is_named() {
        let err = required("PLATFORM_CORE_TEST_SURELY_UNSET").expect_err("unset");
        assert_eq!(err.to_string(), "environment variable PLATFORM_CORE_TEST_SURELY_UNSET is not set");
        assert!(required("PATH").is_ok());
    }
}
