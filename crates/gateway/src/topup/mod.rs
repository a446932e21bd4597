//! The top-up product: lookup, the cached catalogue, transactions and eSIM orders.

pub mod catalogue;
pub mod esim;
mod esim_resource;
pub mod lookup;
mod resource;
pub mod transactions;

pub use catalogue::Catalogue;
