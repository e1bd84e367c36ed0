//! Zammad's webhook: `X-Hub-Signature: sha1=<hex HMAC-SHA1 of the raw body>` under the
//! connector's `webhook_secret`, the delivery id in `X-Zammad-Delivery`, the trigger's name
//! in `X-Zammad-Trigger`, and a JSON body naming `ticket.id` (Zammad's default body is
//! `{"ticket":{…},"article":{…}}`).

use hmac::Hmac;
use http::HeaderMap;
use serde_json::Value;
use sha1::Sha1;

use crate::webhook::{
    WebhookCall, WebhookProtocol, WebhookRejection, WebhookScope, header_string, verify_hex_hmac,
};

const SIGNATURE_NAME: &str = "X-Hub-Signature";
const DELIVERY: &str = "x-zammad-delivery";
const TRIGGER: &str = "x-zammad-trigger";

/// The Zammad webhook protocol.
#[derive(Debug, Clone, Copy, Default)]
pub struct ZammadWebhook;

impl WebhookProtocol for ZammadWebhook {
    fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        secret: &[u8],
    ) -> Result<(), WebhookRejection> {
        verify_hex_hmac::<Hmac<Sha1>>(headers, SIGNATURE_NAME, "sha1=", body, secret)
    }

    fn parse(&self, headers: &HeaderMap, body: &[u8]) -> Result<WebhookCall, WebhookRejection> {
        let payload: Value =
            serde_json::from_slice(body).map_err(|_| WebhookRejection::Unparseable {
                message: "The body is not JSON.",
            })?;
        let ticket_id = match &payload["ticket"]["id"] {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .filter(|id| *id > 0)
        .ok_or(WebhookRejection::MissingField { field: "ticket.id" })?;
        Ok(WebhookCall {
            delivery_id: header_string(headers, DELIVERY),
            scope: WebhookScope::Records(vec![ticket_id]),
            event: header_string(headers, TRIGGER),
            acknowledge_only: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;
    use hmac::Mac;

    const SECRET: &[u8] = b"s3cret-token";

    fn sign(secret: &[u8], body: &[u8]) -> String {
        let mut mac = Hmac::<Sha1>::new_from_slice(secret).unwrap();
        mac.update(body);
        format!("sha1={}", hex::encode(mac.finalize().into_bytes()))
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn a_valid_signature_over_the_raw_body_is_accepted() {
        let body = br#"{"ticket":{"id":5}}"#;
        let h = headers(&[("x-hub-signature", &sign(SECRET, body))]);
        assert_eq!(ZammadWebhook.verify(&h, body, SECRET), Ok(()));
        // Whitespace around the header value is tolerated, as in v1.
        let h = headers(&[("x-hub-signature", &format!(" {} ", sign(SECRET, body)))]);
        assert_eq!(ZammadWebhook.verify(&h, body, SECRET), Ok(()));
    }

    #[test]
    fn a_missing_signature_is_unsigned() {
        let e = ZammadWebhook
            .verify(&HeaderMap::new(), b"{}", SECRET)
            .unwrap_err();
        assert_eq!(
            e,
            WebhookRejection::Unsigned {
                header: "X-Hub-Signature"
            }
        );
        assert!(e.is_unauthenticated());
    }

    #[test]
    fn a_wrong_secret_body_or_scheme_is_a_bad_signature() {
        let body = br#"{"ticket":{"id":5}}"#;
        let good = sign(SECRET, body);
        let bad = WebhookRejection::BadSignature {
            header: "X-Hub-Signature",
        };
        let h = headers(&[("x-hub-signature", &good)]);
        assert_eq!(ZammadWebhook.verify(&h, body, b"other"), Err(bad.clone()));
        assert_eq!(ZammadWebhook.verify(&h, b"{}", SECRET), Err(bad.clone()));
        let sha256 = good.replacen("sha1=", "sha256=", 1);
        let h = headers(&[("x-hub-signature", &sha256)]);
        assert_eq!(ZammadWebhook.verify(&h, body, SECRET), Err(bad.clone()));
        let h = headers(&[("x-hub-signature", "")]);
        assert_eq!(ZammadWebhook.verify(&h, body, SECRET), Err(bad));
    }

    #[test]
    fn malformed_hex_is_a_bad_signature() {
        let body = br#"{"ticket":{"id":5}}"#;
        for sig in ["sha1=zz", "sha1=0", "sha1=", "sha1=00"] {
            let h = headers(&[("x-hub-signature", sig)]);
            assert_eq!(
                ZammadWebhook.verify(&h, body, SECRET),
                Err(WebhookRejection::BadSignature {
                    header: "X-Hub-Signature"
                }),
                "{sig}"
            );
        }
    }

    #[test]
    fn a_call_names_its_ticket_delivery_and_trigger() {
        let h = headers(&[
            ("x-zammad-delivery", " d-1 "),
            ("x-zammad-trigger", "time accounted"),
        ]);
        let call = ZammadWebhook
            .parse(&h, br#"{"ticket":{"id":42,"number":"31042"},"article":{}}"#)
            .unwrap();
        assert_eq!(
            call,
            WebhookCall {
                delivery_id: Some("d-1".into()),
                scope: WebhookScope::Records(vec![42]),
                event: Some("time accounted".into()),
                acknowledge_only: false,
            }
        );
        // A ticket id as text is read too; a blank delivery id is none.
        let h = headers(&[("x-zammad-delivery", "  ")]);
        let call = ZammadWebhook
            .parse(&h, br#"{"ticket":{"id":" 7 "}}"#)
            .unwrap();
        assert_eq!(call.scope, WebhookScope::Records(vec![7]));
        assert_eq!(call.delivery_id, None);
        assert_eq!(call.event, None);
    }

    #[test]
    fn a_body_without_a_ticket_id_is_missing_the_field() {
        for body in [
            &br#"{"article":{}}"#[..],
            br#"{"ticket":{}}"#,
            br#"{"ticket":{"id":0}}"#,
            br#"{"ticket":{"id":-3}}"#,
            br#"{"ticket":{"id":"x"}}"#,
            br#"{"ticket":{"id":null}}"#,
            br#"[1,2]"#,
        ] {
            let e = ZammadWebhook.parse(&HeaderMap::new(), body).unwrap_err();
            assert_eq!(
                e,
                WebhookRejection::MissingField { field: "ticket.id" },
                "{}",
                String::from_utf8_lossy(body)
            );
            assert!(!e.is_unauthenticated());
        }
    }

    #[test]
    fn a_body_that_is_not_json_is_unparseable() {
        for body in [&b"ticket=5"[..], b"", b"{\"ticket\":", &[0xff, 0xfe]] {
            assert!(matches!(
                ZammadWebhook.parse(&HeaderMap::new(), body),
                Err(WebhookRejection::Unparseable { .. })
            ));
        }
    }
}
