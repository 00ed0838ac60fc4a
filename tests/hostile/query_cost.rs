//! (tests added by the hardening work)
