//! The load harness's parts: what it sends, how it reads the tools' reports, and how it sums them up.
//! `main.rs` starts the processes and runs the rounds.

pub mod commandstats;
pub mod nginx_conf;
pub mod oha_output;
pub mod payload;
pub mod procfs;
pub mod results;
pub mod stats;
pub mod table;
pub mod wrk_output;
