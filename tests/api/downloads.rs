//! (tests added by the downloads work)
