//! Stage 3, moderate: what does the content say?
//!
//! The harassment and illegal-collection detector plugs in here; it may refuse a message or
//! attach its verdict as annotations. Until it exists every message passes unchanged.

use crate::message::Message;

use super::{ClientInfo, Refusal};

#[derive(Debug, Default)]
pub struct Moderate {}

impl Moderate {
    pub fn new() -> Moderate {
        Moderate {}
    }

    pub fn review(&self, _client: &ClientInfo, _message: &mut Message) -> Result<(), Refusal> {
        Ok(())
    }
}
