//! The check's table: one row per step, and under a failure the upstream's answers.

/// How a step ended, with what it saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass(String),
    Fail(String),
    /// Not applicable to this channel, or not asked for.
    Skip(String),
}

/// One row of the table.
#[derive(Debug, Clone)]
pub struct StepReport {
    pub name: &'static str,
    pub outcome: Outcome,
    /// The upstream's answers (masked), shown under a failure.
    pub answers: Vec<String>,
}

/// The table as printed:
///
/// ```text
/// channel dcb (adapter declarative) at http://127.0.0.1:9080/dcb-it
/// step       result  detail
/// token      skip    this style has no separate token call
/// payment    FAIL    not sent upstream: …
///                    upstream: POST /dcb/v1/charges -> 401 {"error":{…}}
/// 0 passed, 1 failed, 1 skipped
/// ```
pub fn render(header: &str, rows: &[StepReport]) -> String {
    let mut out = format!("{header}\n{:<10} {:<7} detail\n", "step", "result");
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for row in rows {
        let (result, detail) = match &row.outcome {
            Outcome::Pass(d) => {
                passed += 1;
                ("pass", d)
            }
            Outcome::Fail(d) => {
                failed += 1;
                ("FAIL", d)
            }
            Outcome::Skip(d) => {
                skipped += 1;
                ("skip", d)
            }
        };
        out.push_str(&format!("{:<10} {result:<7} {detail}\n", row.name));
        for answer in &row.answers {
            out.push_str(&format!("{:<18} upstream: {answer}\n", ""));
        }
    }
    out.push_str(&format!(
        "{passed} passed, {failed} failed, {skipped} skipped\n"
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_carry_their_answers_and_the_summary_counts() {
        let rows = [
            StepReport {
                name: "token",
                outcome: Outcome::Pass("access token issued".into()),
                answers: vec![],
            },
            StepReport {
                name: "payment",
                outcome: Outcome::Fail("not sent upstream: bad signature".into()),
                answers: vec!["POST /charges -> 401 {}".into()],
            },
        ];
        let table = render("channel x", &rows);
        assert_eq!(
            table,
            "channel x\n\
             step       result  detail\n\
             token      pass    access token issued\n\
             payment    FAIL    not sent upstream: bad signature\n\
             \x20                  upstream: POST /charges -> 401 {}\n\
             1 passed, 1 failed, 0 skipped\n"
        );
    }
}
