//! The real binary's connection handling: a cap on open connections with a documented refusal,
//! slow request heads and idle connections closed, and SIGTERM ending the process within its
//! shutdown deadline even with an event stream and half-sent requests open.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Server, http, http_get, run_citygrid};

/// The host and port of a server's base URL.
fn address(server: &Server) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

/// A connection that reads with a generous bound, so a server that never closes fails the test
/// instead of hanging it.
fn connect(server: &Server) -> TcpStream {
    let stream = TcpStream::connect(address(server)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    stream
}

/// Reads until the server closes the connection; what it sent. A reset counts as closed.
fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
                ) =>
            {
                break;
            }
            Err(e) => panic!("the server did not close the connection: {e}"),
        }
    }
    String::from_utf8_lossy(&received).into_owned()
}

/// `/health` answers 200 on a new connection, tried until `bound` has passed.
fn health_answers_within(server: &Server, bound: Duration) -> bool {
    let deadline = Instant::now() + bound;
    while Instant::now() < deadline {
        if http_get(&format!("{}/health", server.base)).is_some_and(|(status, _)| status == 200) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn a_connection_over_the_cap_is_refused_with_a_503_problem_and_health_answers_once_others_close() {
    let server = Server::start(&[
        "--no-demo",
        "--max-connections",
        "4",
        "--idle-timeout-secs",
        "3600",
        "--header-timeout-secs",
        "3600",
    ]);
    let idle: Vec<TcpStream> = (0..4).map(|_| connect(&server)).collect();
    // Connections are accepted in order: the four idle ones hold the cap before this one.
    let (status, body) = http_get(&format!("{}/health", server.base)).unwrap();
    assert_eq!(status, 503, "{body}");
    let problem: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["status"], 503);
    assert_eq!(problem["type"], "urn:citygrid:problem:too-many-connections");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("CITYGRID_MAX_CONNECTIONS"),
        "{problem}"
    );
    drop(idle);
    assert!(
        health_answers_within(&server, Duration::from_secs(60)),
        "/health answers once the idle connections are gone"
    );
}

#[test]
fn half_a_request_head_is_closed_after_the_header_timeout_a_stalled_body_fails_and_a_quiet_connection_is_closed_after_the_idle_timeout()
 {
    let server = Server::start(&[
        "--no-demo",
        "--header-timeout-secs",
        "1",
        "--idle-timeout-secs",
        "1",
    ]);
    let mut slow = connect(&server);
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: citygrid\r\nX-Slow: ")
        .unwrap();
    let answer = read_until_closed(&mut slow);
    assert!(
        !answer.contains("200 OK"),
        "half a head gets no answer: {answer}"
    );

    // A body that stalls as long as a head may fails with a problem naming the body.
    let mut stalled = connect(&server);
    stalled
        .write_all(b"POST /search HTTP/1.1\r\nHost: citygrid\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"collections\":")
        .unwrap();
    let answer = read_until_closed(&mut stalled);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("\"parameter\":\"body\""), "{answer}");

    let mut quiet = connect(&server);
    assert_eq!(
        read_until_closed(&mut quiet),
        "",
        "nothing is sent, then closed"
    );

    // Keep-alive: after a whole answer, a connection with no next request is closed.
    let mut kept = connect(&server);
    kept.write_all(b"GET /health HTTP/1.1\r\nHost: citygrid\r\n\r\n")
        .unwrap();
    let answer = read_until_closed(&mut kept);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(health_answers_within(&server, Duration::from_secs(60)));
}

#[test]
fn sigterm_ends_event_streams_and_half_sent_requests_and_the_process_exits() {
    let mut server = Server::start(&["--no-demo", "--shutdown-timeout-secs", "2"]);
    let database = server.database_url();
    let added = run_citygrid(
        &[
            "user",
            "add",
            "zhihui",
            "--role",
            "dispatcher",
            "--database-url",
            &database,
        ],
        "dispatcher-password-1\n",
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let (status, body) = http(
        &format!("{}/auth/login", server.base),
        "POST",
        &[("Content-Type", "application/json")],
        &json!({ "username": "zhihui", "password": "dispatcher-password-1" }).to_string(),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let token = serde_json::from_str::<Value>(&body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut events = connect(&server);
    write!(
        events,
        "GET /cases/events HTTP/1.1\r\nHost: citygrid\r\nAccept: text/event-stream\r\nAuthorization: Bearer {token}\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0_u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            events.read(&mut byte).unwrap(),
            1,
            "the stream's head arrives"
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/event-stream"), "{head}");

    let mut half_head = connect(&server);
    half_head
        .write_all(b"GET /health HTTP/1.1\r\nHost: cit")
        .unwrap();
    let mut half_body = connect(&server);
    half_body
        .write_all(b"POST /auth/login HTTP/1.1\r\nHost: citygrid\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"username\":")
        .unwrap();

    let pid = server.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    // Generous: the deadline is 2 s; a loaded test machine may take much longer to get there.
    let deadline = Instant::now() + Duration::from_secs(120);
    let exit = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the server is still running two minutes after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit}");
    read_until_closed(&mut events);
    read_until_closed(&mut half_head);
    read_until_closed(&mut half_body);
}
