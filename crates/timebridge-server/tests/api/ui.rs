use reqwest::{StatusCode, header};

use crate::api_test;

api_test!(async fn the_root_and_deep_links_answer_the_single_page_app(app) {
    for path in ["/", "/conflicts/12", "/settings"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-cache");
        let csp = res.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        for directive in ["default-src 'self'", "script-src 'self';", "object-src 'none'", "frame-ancestors 'none'"] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-eval"), "{csp}");
        let script_src = csp.split(';').find(|d| d.trim().starts_with("script-src")).unwrap();
        assert!(!script_src.contains("unsafe-inline"), "{csp}");
        assert!(res.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
        let html = res.text().await.unwrap();
        assert!(html.contains("<html") || html.contains("<!doctype") || html.contains("<!DOCTYPE"));
        if !timebridge_server::ui::is_built() {
            assert!(html.contains("npm run build"), "explains how to build the UI");
        }
    }
    let res = app.client.get(app.url("/assets/does-not-exist.js")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
});
