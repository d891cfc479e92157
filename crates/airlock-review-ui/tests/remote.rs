//! Bound beyond loopback, every page needs a signed-in operator, and the Host check follows
//! the bound address (no `localhost` aliases). Driven through the router, over a real ledger.

use std::collections::HashMap;
use std::sync::Arc;

use airlock_ledger::SqliteLedger;
use airlock_review_ui::{ApplySetup, Reviewers, Ui, UiOptions, router};
use axum::body::Body;
use axum::http::{Request, Response, header};
use tower::ServiceExt as _;

const HOST: &str = "192.0.2.10:8700";

fn config() -> airlock_config::Config {
    let doc = serde_json::json!({
        "version": 1, "mode": "review",
        "sources": {"app": {"engine": "sqlite", "path": "app.db"}},
        "trusted_context": {"provider": "environment"},
        "operators": {"dana": {"roles": ["billing_lead"]}},
        "capabilities": [{
            "name": "billing.inspect_invoice", "kind": "read", "source": "app",
            "target": {"table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"},
            "args": {"invoice_id": {"type": "string", "max_length": 64}},
            "lookup": {"id_from_arg": "invoice_id"},
            "visible_columns": ["id", "status"]
        }]
    });
    airlock_config::parse(&doc).expect("valid config").0
}

async fn send(ui: &Arc<Ui>, req: Request<Body>) -> Response<Body> {
    router(ui.clone()).oneshot(req).await.unwrap()
}

fn get(uri: &str, host: &str, cookie: Option<&str>) -> Request<Body> {
    let mut r = Request::get(uri).header(header::HOST, host);
    if let Some(c) = cookie {
        r = r.header(header::COOKIE, c);
    }
    r.body(Body::empty()).unwrap()
}

fn cookie_of(res: &Response<Body>) -> String {
    res.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

async fn body(res: Response<Body>) -> String {
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn every_page_asks_for_sign_in_when_bound_beyond_loopback() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("ledger.db");
    let ui = Ui::new(UiOptions {
        ledger: Arc::new(SqliteLedger::open(&store).unwrap()),
        config: config(),
        apply: ApplySetup {
            env: HashMap::new(),
            base_dir: tmp.path().to_owned(),
            runner_id: "test".into(),
            project: "test".into(),
        },
        reviewers: Reviewers::Operators(HashMap::from([(
            "dana".to_owned(),
            "dana-secret".to_owned(),
        )])),
        addr: HOST.parse().unwrap(),
        remote: true,
        config_path: tmp.path().join("airlock.json"),
        store_path: store,
    });
    let url = ui.open_url();
    assert!(url.starts_with(&format!("http://{HOST}/?token=")), "{url}");
    let token_path = url.trim_start_matches(&format!("http://{HOST}"));

    // localhost is not an alias of a remote bind.
    let res = send(&ui, get(token_path, "localhost:8700", None)).await;
    assert_eq!(res.status(), 421);

    let res = send(&ui, get(token_path, HOST, None)).await;
    assert_eq!(res.status(), 303);
    let cookie = cookie_of(&res);
    for page in [
        "/",
        "/history",
        "/ledger",
        "/proposals/wrp_00000000000000000000",
        "/events",
    ] {
        let res = send(&ui, get(page, HOST, Some(&cookie))).await;
        assert_eq!(res.status(), 303, "{page}");
        assert_eq!(res.headers()[header::LOCATION], "/login", "{page}");
    }
    let login = send(&ui, get("/login", HOST, Some(&cookie))).await;
    assert_eq!(login.status(), 200);
    let html = body(login).await;
    let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = html[at..at + 64].to_owned();

    let sign_in = |secret: &str| {
        Request::post("/login")
            .header(header::HOST, HOST)
            .header(header::ORIGIN, format!("http://{HOST}"))
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "csrf={csrf}&operator=dana&secret={secret}"
            )))
            .unwrap()
    };
    let wrong = send(&ui, sign_in("dana-secreT")).await;
    assert_eq!(wrong.status(), 401);
    let res = send(&ui, sign_in("dana-secret")).await;
    assert_eq!(res.status(), 303);
    let signed_in = cookie_of(&res);
    assert_ne!(signed_in, cookie, "signing in starts a new session");
    // The session from before signing in is worth nothing now.
    let old = send(&ui, get("/", HOST, Some(&cookie))).await;
    assert_eq!(old.status(), 401);
    let res = send(&ui, get("/", HOST, Some(&signed_in))).await;
    assert_eq!(res.status(), 200);
    assert!(
        body(res)
            .await
            .contains("Reviewing as <strong id=\"who\">dana</strong>")
    );
}
