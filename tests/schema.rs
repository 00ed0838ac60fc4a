//! `schema.graphql` is the committed contract; it must equal the served schema.
//! Regenerate it with `UPDATE_SCHEMA=1 cargo test --test schema`.

#[test]
fn the_committed_schema_matches_the_served_schema() {
    let served = recover_better::graphql::sdl();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &served).expect("write schema.graphql");
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == served,
        "schema.graphql differs from the served schema; regenerate it with \
         `UPDATE_SCHEMA=1 cargo test --test schema` and review the diff"
    );
}
