//! The request every load run sends: a CAMARA 1-step payment, unique per request.
//!
//! Phone numbers are `+346` (movistar-es) + 6 random digits + `01` (the sandbox's plain success), so
//! no subscriber comes near the EUR 300 monthly limit; `clientCorrelator` and `referenceCode` are
//! unique per request. The same pieces build the body in Rust (oha's body lines) and in Lua (wrk).

use rand::Rng;

pub const PHONE_PREFIX: &str = "+346";
pub const PHONE_SUFFIX: &str = "01";

/// Part of the body: fixed text or one of the two varying values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    Text(&'static str),
    Phone,
    Id,
}

const BODY: &[Piece] = &[
    Piece::Text(r#"{"amountTransaction":{"phoneNumber":""#),
    Piece::Phone,
    Piece::Text(r#"","clientCorrelator":""#),
    Piece::Id,
    Piece::Text(r#"","referenceCode":""#),
    Piece::Id,
    Piece::Text(
        r#"","paymentAmount":{"chargingInformation":{"amount":1,"currency":"EUR","description":"Benchmark"}}}}"#,
    ),
];

/// The JSON body for one payment.
pub fn body(phone: &str, id: &str) -> String {
    BODY.iter()
        .map(|p| match p {
            Piece::Text(t) => t,
            Piece::Phone => phone,
            Piece::Id => id,
        })
        .collect()
}

/// A random phone number of the shape above.
pub fn phone<R: Rng>(rng: &mut R) -> String {
    format!(
        "{PHONE_PREFIX}{:06}{PHONE_SUFFIX}",
        rng.random_range(0..1_000_000u32)
    )
}

/// `n` bodies, one per line, each with its own id `<nonce>-<i>` and a random phone (oha's `-Z`).
pub fn body_lines<R: Rng>(rng: &mut R, nonce: &str, n: usize) -> String {
    let mut out = String::with_capacity(n * 220);
    for i in 0..n {
        out.push_str(&body(&phone(rng), &format!("{nonce}-{i}")));
        out.push('\n');
    }
    out
}

/// The body as a Lua expression over the variables `phone` and `id`.
fn lua_body_expression() -> String {
    BODY.iter()
        .map(|p| match p {
            Piece::Text(t) => format!("[==[{t}]==]"),
            Piece::Phone => "phone".into(),
            Piece::Id => "id".into(),
        })
        .collect::<Vec<_>>()
        .join(" .. ")
}

fn lua_headers(token: &str) -> String {
    format!(
        "wrk.method = \"POST\"\n\
         wrk.headers[\"Authorization\"] = \"Bearer {token}\"\n\
         wrk.headers[\"Content-Type\"] = \"application/json\"\n"
    )
}

/// A wrk script sending a new payment per request: ids `<nonce>-<thread>-<n>`, random phones.
pub fn wrk_unique_script(token: &str, nonce: &str, seed: u32) -> String {
    format!(
        "{headers}\
         local counter = 0\n\
         local next_tid = 1\n\
         function setup(thread)\n  thread:set(\"tid\", next_tid)\n  next_tid = next_tid + 1\nend\n\
         function init(args)\n  math.randomseed({seed} + tid * 7919)\nend\n\
         request = function()\n  counter = counter + 1\n  \
         local id = \"{nonce}-\" .. tid .. \"-\" .. counter\n  \
         local phone = string.format(\"{PHONE_PREFIX}%06d{PHONE_SUFFIX}\", math.random(0, 999999))\n  \
         return wrk.format(nil, nil, nil, {body})\nend\n",
        headers = lua_headers(token),
        body = lua_body_expression(),
    )
}

/// A wrk script sending the same payment over and over (all but the first are idempotent replays).
pub fn wrk_replay_script(token: &str, phone: &str, id: &str) -> String {
    format!(
        "{}wrk.body = [==[{}]==]\n",
        lua_headers(token),
        body(phone, id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use serde_json::Value;

    #[test]
    fn the_body_is_a_camara_payment_with_the_given_values() {
        let v: Value = serde_json::from_str(&body("+34612345601", "run-7")).unwrap();
        let tx = &v["amountTransaction"];
        assert_eq!(tx["phoneNumber"], "+34612345601");
        assert_eq!(tx["clientCorrelator"], "run-7");
        assert_eq!(tx["referenceCode"], "run-7");
        assert_eq!(
            tx["paymentAmount"]["chargingInformation"]["currency"],
            "EUR"
        );
    }

    #[test]
    fn phones_are_movistar_successes_and_vary() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let phones: Vec<String> = (0..50).map(|_| phone(&mut rng)).collect();
        for p in &phones {
            assert_eq!(p.len(), 12, "{p}");
            assert!(p.starts_with("+346") && p.ends_with("01"), "{p}");
        }
        let distinct: std::collections::HashSet<_> = phones.iter().collect();
        assert!(distinct.len() > 45);
    }

    #[test]
    fn body_lines_are_one_unique_payment_per_line() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let text = body_lines(&mut rng, "n", 3);
        let ids: Vec<String> = text
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                v["amountTransaction"]["clientCorrelator"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(ids, ["n-0", "n-1", "n-2"]);
    }

    #[test]
    fn the_lua_body_is_the_rust_body_with_the_variables_in_place() {
        // Evaluate the expression the way Lua would: long strings are literal, names are variables.
        let evaluated: String = lua_body_expression()
            .split(" .. ")
            .map(|part| match part {
                "phone" => "+34600000101".to_string(),
                "id" => "x-1-1".to_string(),
                literal => literal
                    .strip_prefix("[==[")
                    .and_then(|s| s.strip_suffix("]==]"))
                    .expect("a long string")
                    .to_string(),
            })
            .collect();
        assert_eq!(evaluated, body("+34600000101", "x-1-1"));
        let script = wrk_unique_script("tok", "abc", 5);
        assert!(script.contains("\"Bearer tok\""));
        assert!(script.contains("\"abc-\" .. tid .. \"-\" .. counter"));
        assert!(script.contains("string.format(\"+346%06d01\""));
    }
}
