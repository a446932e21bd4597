//! The load harness's parts: what it sends, how it reads the tools' reports, and how it sums them up.
//! `main.rs` starts the processes and runs the rounds.

pub mod commandstats;
pub mod error;
pub mod load;
pub mod nginx_conf;
pub mod oha_output;
pub mod payload;
pub mod procfs;
pub mod procs;
pub mod results;
pub mod rounds;
pub mod stack;
pub mod stats;
pub mod table;
pub mod tokens;
pub mod tools;
pub mod wrk_output;
