//! A PostgreSQL server from Debian's package (installed by `.ci/run`), started on loopback in a
//! temporary folder for one test and stopped when dropped. As root, the server runs as the
//! `postgres` user (PostgreSQL refuses root). `STRATA_PG_BIN` names its `bin` folder;
//! otherwise the newest `/usr/lib/postgresql/*/bin`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A running server.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

fn find_bin() -> PathBuf {
    if let Ok(bin) = std::env::var("STRATA_PG_BIN") {
        return PathBuf::from(bin);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("postgres").exists())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!("no PostgreSQL server: `apt-get install postgresql` (as .ci/run does), or set STRATA_PG_BIN")
    })
}

impl Postgres {
    /// Starts a fresh server (trust authentication, fsync off) on a free loopback port.
    pub fn start() -> Self {
        let bin = find_bin();
        let uid = Command::new("id").arg("-u").output().expect("id -u");
        let as_postgres = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        let dir = tempfile::tempdir().unwrap();
        if as_postgres {
            let chown = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(chown.success());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pg = Postgres {
            dir,
            bin,
            port,
            as_postgres,
        };
        let data = pg.data();
        let init = pg.server(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        assert!(
            init.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off -c full_page_writes=off",
            pg.dir.path().display()
        );
        let log = pg.dir.path().join("server.log");
        let started = pg.server(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &options,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        assert!(
            started.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&started.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs a server program (as `postgres` when this is root).
    fn server(&self, program: &str, args: &[&str]) -> Output {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        command
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The URL of a database on this server.
    pub fn url(&self, db: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// The `psql` of the server's version.
    pub fn psql_program(&self) -> PathBuf {
        self.bin.join("psql")
    }

    /// Runs `psql` on database `db` with `args`, stopping at the first error.
    pub fn psql(&self, db: &str, args: &[&str]) -> Output {
        Command::new(self.psql_program())
            .arg(self.url(db))
            .args(["-X", "-v", "ON_ERROR_STOP=1"])
            .args(args)
            .output()
            .expect("psql")
    }

    /// One query's only row, its fields split (unaligned, `|`-separated).
    pub fn row(&self, db: &str, sql: &str) -> Vec<String> {
        let out = self.psql(db, &["-A", "-t", "-c", sql]);
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .trim_end_matches('\n')
            .split('|')
            .map(str::to_string)
            .collect()
    }

    /// The folder the server's files are in.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self.server(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap_or_default(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }
}
