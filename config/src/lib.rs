//! tallymq configuration.
