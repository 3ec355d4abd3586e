//! The Internet checksum (RFC 1071) and the TCP/IPv4 pseudo-header sum (RFC 9293 §3.1).
