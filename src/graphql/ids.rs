//! Relay global ids and connection cursors: opaque base64url strings built from natural keys,
//! so they are stable across restarts and across export and import.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// `Type:natural-key`, base64url-encoded.
pub fn global_id(type_name: &str, key: &str) -> async_graphql::ID {
    async_graphql::ID(URL_SAFE_NO_PAD.encode(format!("{type_name}:{key}")))
}

/// Splits a global id into its type name and natural key.
pub fn parse_global_id(id: &str) -> Option<(String, String)> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(id).ok()?).ok()?;
    let (t, k) = raw.split_once(':')?;
    Some((t.to_owned(), k.to_owned()))
}

pub fn encode_cursor(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("c:{key}"))
}

pub fn decode_cursor(cursor: &str) -> Option<String> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    raw.strip_prefix("c:").map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_cursors_round_trip() {
        let id = global_id("Link", "R-1\tM-2");
        assert_eq!(
            parse_global_id(&id),
            Some(("Link".into(), "R-1\tM-2".into()))
        );
        assert_eq!(decode_cursor(&encode_cursor("R-1")), Some("R-1".into()));
        assert_eq!(decode_cursor("not a cursor"), None);
        assert_eq!(parse_global_id("!!"), None);
    }
}
