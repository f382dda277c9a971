//! Table tests of the machine-log reader: delimiters, decimal comma, headers, units, columns,
//! interpolation, and the errors that name a line.

use super::*;

fn parse(text: &str) -> MachineLog {
    match MachineLog::parse(text, &LogOptions::default()) {
        Ok(log) => log,
        Err(e) => panic!("{e}\n{text}"),
    }
}

/// (log text, delimiter, decimal comma, time s, displacement mm, force N of the 2nd row)
type Case = (&'static str, u8, bool, f64, f64, Option<f64>);

#[test]
fn detects_delimiters_decimal_commas_headers_and_units() {
    // (log text, delimiter, decimal comma, time s, displacement mm, force N of the 2nd row)
    let cases: &[Case] = &[
        (
            "time,disp,force\n0,0,0\n0.5,1.5,20\n",
            b',',
            false,
            0.5,
            1.5,
            Some(20.0),
        ),
        (
            "Zeit [s];Weg [mm];Kraft [kN]\n0;0;0\n0,5;1,25;0,5\n",
            b';',
            true,
            0.5,
            1.25,
            Some(500.0),
        ),
        (
            "Time (ms)\tExtension (µm)\tLoad (N)\n0\t0\t1\n500\t1500\t2\n",
            b'\t',
            false,
            0.5,
            1.5,
            Some(2.0),
        ),
        (
            "t_ms;position_um\n0;0\n250;2000\n",
            b';',
            false,
            0.25,
            2.0,
            None,
        ),
        ("0;0;0\n1,5;2,5;3,5\n", b';', true, 1.5, 2.5, Some(3.5)),
        ("0,0\n2,4\n", b',', false, 2.0, 4.0, None),
        (
            "Machine: Zwick Z010\nSpecimen;A3\nTime [s];Standard travel [mm];Standard force [N]\n0;0;0\n1;+2;-3e1\n",
            b';',
            false,
            1.0,
            2.0,
            Some(-30.0),
        ),
        (
            "\u{feff}\"Time (s)\",\"Displacement (mm)\"\r\n0,0\r\n3,0.3\r\n",
            b',',
            false,
            3.0,
            0.3,
            None,
        ),
        (
            "Time (min)|Position (cm)|Force (kN)\n0|0|0\n1|1|1\n",
            b'|',
            false,
            60.0,
            10.0,
            Some(1000.0),
        ),
    ];
    for (text, delim, comma, t, d, f) in cases {
        let log = parse(text);
        assert_eq!(log.delimiter, *delim, "{text}");
        assert_eq!(log.decimal_comma, *comma, "{text}");
        assert_eq!(log.time_s[1], *t, "{text}");
        assert_eq!(log.displacement_mm[1], *d, "{text}");
        assert_eq!(log.force_n.as_ref().map(|f| f[1]), *f, "{text}");
    }
}

#[test]
fn columns_by_name_or_index_and_given_format() {
    let text = "Load [N];Time [s];Crosshead [mm]\n5;0;0\n6;1;2\n";
    let opts = LogOptions {
        displacement: Some(ColumnRef::parse("crosshead")),
        ..LogOptions::default()
    };
    let log = MachineLog::parse(text, &opts).unwrap();
    assert_eq!((log.time_s[1], log.displacement_mm[1]), (1.0, 2.0));
    assert_eq!(log.force_n, Some(vec![5.0, 6.0]));
    let opts = LogOptions {
        delimiter: Some(b';'),
        decimal_comma: Some(true),
        has_header: Some(false),
        time: Some(ColumnRef::parse("1")),
        displacement: Some(ColumnRef::parse("0")),
        ..LogOptions::default()
    };
    let log = MachineLog::parse("7,5;1\n8;2\n", &opts).unwrap();
    assert_eq!(log.time_s, vec![1.0, 2.0]);
    assert_eq!(log.displacement_mm, vec![7.5, 8.0]);
    assert!(log.force_n.is_none());
}

#[test]
fn errors_name_the_line() {
    let cases: &[(&str, &str)] = &[
        ("", "empty"),
        (
            "time;disp\n0;0\n1;x\n",
            "line 3: displacement \"x\" is not a number",
        ),
        ("time;disp\n0;0\n2;1\n1;2\n", "line 4: time 1 s goes back"),
        ("time;disp\n0;0\n1\n", "cannot tell the delimiter"),
        ("a;b\nc;d\n", "no row of numbers"),
        ("Time (h);Disp (mm)\n0;0\n", "unknown time unit \"h\""),
        ("time;disp\n0;inf\n", "no row of numbers"),
        ("foo;bar\n0;0\n", "no time column"),
    ];
    for (text, want) in cases {
        match MachineLog::parse(text, &LogOptions::default()) {
            Ok(log) => panic!("{text:?} parsed: {log:?}"),
            Err(e) => assert!(e.to_string().contains(want), "{text:?}: {e}"),
        }
    }
}

#[test]
fn interpolates_linearly_and_exactly_at_rows() {
    let log = parse("t;d;f\n0;0;0\n1;10;100\n1;20;200\n3;30;250\n");
    let at = |t: f64| log.at(t).map(|s| (s.displacement_mm, s.force_n));
    assert_eq!(at(0.0), Some((0.0, Some(0.0))));
    assert_eq!(at(0.5), Some((5.0, Some(50.0))));
    // Two rows at one time: a step, the later row holds from that time on.
    assert_eq!(at(1.0), Some((20.0, Some(200.0))));
    assert_eq!(at(2.0), Some((25.0, Some(225.0))));
    assert_eq!(at(3.0), Some((30.0, Some(250.0))));
    assert_eq!(at(-0.1), None);
    assert_eq!(at(3.1), None);
    assert_eq!(at(f64::NAN), None);
    // Exact at the log's own times, whatever the decimals.
    let log = parse("time;disp\n0,1;0,123456789\n0,3;7,7\n");
    assert_eq!(log.at(0.1).unwrap().displacement_mm, 0.123456789);
}

#[test]
fn step_times_and_first_motion() {
    let log = parse("t,d\n0,0\n1,0.01\n2,5\n3,5.2\n4,10\n");
    assert_eq!(log.step_times(0.0), vec![0.0, 1.0, 2.0, 3.0, 4.0]);
    assert_eq!(log.step_times(1.0), vec![0.0, 2.0, 4.0]);
    assert_eq!(log.first_motion(0.05), Some(2.0));
}
