//! Strain Seer: measure 2D strain from photos of a deforming specimen.
//!
//! The computation lives in [`engine`] (no I/O) and the file formats in [`formats`]; this crate
//! adds the operations both front ends share ([`app`]), the command line ([`cli`]), the web app
//! ([`web`]) and its storage ([`store`]).

pub use strain_seer_engine as engine;
pub use strain_seer_formats as formats;

pub mod app;
pub mod cli;
pub mod store;
pub mod video;
pub mod web;
