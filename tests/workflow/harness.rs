//! A server per test over the small hand-made dataset (tests/common), with one token of each
//! role, and a GraphQL client that sends a token or not.
#![allow(dead_code)]

use std::sync::Arc;

use serde_json::{json, Value};

use recover_better::live::Live;
use recover_better::model::Role;
use recover_better::server::{App, HttpOptions};
use recover_better::store::Store;

use crate::common::{import_dir, Dataset};

pub struct Server {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    pub live: Arc<Live>,
    pub reader: String,
    pub editor: String,
    pub admin: String,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// What a GraphQL request got back.
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    /// The data, asserting there were no errors.
    pub fn data(&self) -> &Value {
        assert!(
            self.body.get("errors").is_none(),
            "unexpected errors: {}",
            self.body
        );
        &self.body["data"]
    }

    /// The first error's `extensions.code` (panics when there is no error).
    pub fn code(&self) -> &str {
        self.body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an error with a code, got {}", self.body))
    }

    pub fn error(&self) -> &Value {
        &self.body["errors"][0]
    }
}

/// A server over the small dataset in a temporary store folder.
pub async fn server() -> Server {
    server_with(HttpOptions::default()).await
}

pub async fn server_with(options: HttpOptions) -> Server {
    let dir = tempfile::Builder::new()
        .prefix("workflow-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("tempdir");
    let store =
        Store::open_location(&crate::common::test_location(dir.path())).expect("store opens");
    let data = Dataset::small().write_temp();
    import_dir(&store, data.path()).expect("the small dataset imports");
    let reader = store.create_token("rita", Role::Reader).unwrap();
    let editor = store.create_token("eddie", Role::Editor).unwrap();
    let admin = store.create_token("ada", Role::Admin).unwrap();
    let app = App::builder(Arc::new(store))
        .http(options)
        .build()
        .expect("the app builds");
    let live = app.live.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(app.serve(listener, std::future::pending()));
    Server {
        address,
        live,
        reader,
        editor,
        admin,
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

impl Server {
    /// POSTs a query, with `Authorization: Bearer <token>` when a token is given.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Reply {
        let mut req = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        let body: Value = r.json().await.expect("a JSON body");
        Reply { status, body }
    }

    pub async fn as_editor(&self, query: &str, variables: Value) -> Reply {
        self.gql(Some(&self.editor), query, variables).await
    }

    pub async fn as_admin(&self, query: &str, variables: Value) -> Reply {
        self.gql(Some(&self.admin), query, variables).await
    }

    pub async fn read(&self, query: &str, variables: Value) -> Value {
        self.gql(None, query, variables).await.data().clone()
    }

    /// The WebSocket URL.
    pub fn ws(&self) -> String {
        format!("{}/graphql/ws", self.address.replacen("http", "ws", 1))
    }
}

pub const LINK: &str = "mutation($input: LinkRecommendationInput!) {
    linkRecommendation(input: $input) {
        changed clientMutationId
        link { relation status note evidenceUrl createdBy version updatedAt }
        recommendation { ref links { measure { ref } } }
        measure { ref links { recommendation { ref } } }
    }
}";

pub const UPDATE_LINK: &str = "mutation($input: UpdateLinkInput!) {
    updateLink(input: $input) { changed link { relation status note evidenceUrl version } }
}";

pub const UNLINK: &str = "mutation($input: UnlinkInput!) {
    unlink(input: $input) { deletedLinkId recommendation { ref links { measure { ref } } } }
}";
