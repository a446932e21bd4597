//! CAMARA adapter (being written).
