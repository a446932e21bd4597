//! The nginx configuration of the L1 layer: a plain `proxy_pass` with upstream keepalive.

use std::path::Path;

/// A foreground nginx listening on `listen_port` and proxying everything to `upstream_port`, with
/// every file it writes (pid, logs, temp paths) under `dir`.
pub fn render(dir: &Path, listen_port: u16, upstream_port: u16) -> String {
    let d = dir.display();
    format!(
        "daemon off;\n\
         worker_processes auto;\n\
         pid {d}/nginx.pid;\n\
         error_log {d}/error.log warn;\n\
         events {{ worker_connections 4096; }}\n\
         http {{\n\
         \x20 access_log off;\n\
         \x20 client_body_temp_path {d}/client_body;\n\
         \x20 proxy_temp_path {d}/proxy;\n\
         \x20 fastcgi_temp_path {d}/fastcgi;\n\
         \x20 uwsgi_temp_path {d}/uwsgi;\n\
         \x20 scgi_temp_path {d}/scgi;\n\
         \x20 upstream sandbox {{\n\
         \x20   server 127.0.0.1:{upstream_port};\n\
         \x20   keepalive 64;\n\
         \x20 }}\n\
         \x20 server {{\n\
         \x20   listen 127.0.0.1:{listen_port};\n\
         \x20   location / {{\n\
         \x20     proxy_pass http://sandbox;\n\
         \x20     proxy_http_version 1.1;\n\
         \x20     proxy_set_header Connection \"\";\n\
         \x20   }}\n\
         \x20 }}\n\
         }}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_with_keepalive_and_keeps_its_files_in_the_dir() {
        let conf = render(Path::new("/tmp/sb-nginx"), 8081, 9090);
        for needed in [
            "daemon off;",
            "pid /tmp/sb-nginx/nginx.pid;",
            "error_log /tmp/sb-nginx/error.log",
            "client_body_temp_path /tmp/sb-nginx/client_body;",
            "server 127.0.0.1:9090;",
            "keepalive 64;",
            "listen 127.0.0.1:8081;",
            "proxy_pass http://sandbox;",
            "proxy_http_version 1.1;",
            "proxy_set_header Connection \"\";",
        ] {
            assert!(conf.contains(needed), "missing {needed:?} in\n{conf}");
        }
        assert_eq!(conf.matches('{').count(), conf.matches('}').count());
    }
}
