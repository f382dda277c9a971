//! Liveness probes: `GET /health` (JSON, used by `strain-seer healthcheck` and the container's
//! HEALTHCHECK) and `GET /_stcore/health` (plain `ok`, what the earlier Streamlit tool answered).

use super::AppState;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/_stcore/health", get(stcore_health))
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn stcore_health() -> &'static str {
    "ok"
}
