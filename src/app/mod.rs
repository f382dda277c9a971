//! The operations on a project that the command line and the web app share: the rules that
//! are neither pure computation (the engine) nor HTTP or flag parsing. Each rule lives here
//! once; [`crate::cli`] and [`crate::web`] call it.

pub mod detect;
pub mod exports;
pub mod film;
pub mod frames;
pub mod load;
pub mod read;
pub mod report;
pub mod ruler;
pub mod scale;
pub mod target;
pub mod video;

use crate::engine::Point;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

/// The address a client on this computer uses to reach a server listening on `addr`: an
/// unspecified address (0.0.0.0, ::, "every interface") is reached on loopback (127.0.0.1,
/// ::1), any other as it is. The health check connects there; `serve` prints it as the URL to
/// open.
pub fn local_addr(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), addr.port())
        }
        _ => addr,
    }
}

/// How a file given on the command line is named in messages: its file name (`a.png` of
/// `photos/a.png`), or the whole path when it has none (`..`, `/`).
pub fn file_label(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Coordinates and confidences are stored with 3 decimals (a thousandth of a pixel), as the
/// front end writes them, so a point it sends back unchanged compares equal and keeps its
/// provenance.
pub fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// A point rounded as stored ([`round3`] on both coordinates).
pub fn round_point(p: Point) -> Point {
    Point::new(round3(p.x), round3(p.y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_interface_is_reached_on_loopback() {
        let at = |s: &str| s.parse::<SocketAddr>().unwrap_or_else(|_| unreachable!());
        assert_eq!(local_addr(at("0.0.0.0:8501")), at("127.0.0.1:8501"));
        assert_eq!(local_addr(at("[::]:80")), at("[::1]:80"));
        assert_eq!(local_addr(at("192.168.1.5:8501")), at("192.168.1.5:8501"));
        assert_eq!(local_addr(at("127.0.0.1:1")), at("127.0.0.1:1"));
    }

    #[test]
    fn rounding_keeps_three_decimals() {
        assert_eq!(round3(1.23456), 1.235);
        assert_eq!(round3(-0.0004), -0.0);
        assert_eq!(
            round_point(Point::new(10.0004, 2.9996)),
            Point::new(10.0, 3.0)
        );
    }
}
