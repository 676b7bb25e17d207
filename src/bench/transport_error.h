// One readable phrase for each way an HTTP exchange can fail below HTTP (the library's own names
// are single words like "Connection").
#pragma once

#include <string>

#include <httplib.h>

namespace orbitflow {

inline std::string TransportError(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection: return "connection refused or failed (is the server running?)";
    case httplib::Error::ConnectionTimeout: return "connect timed out";
    case httplib::Error::Read: return "the connection closed or timed out while reading the response";
    case httplib::Error::Write: return "the connection closed while sending the request";
    case httplib::Error::SSLConnection: return "TLS handshake failed";
    case httplib::Error::SSLServerVerification: return "the server's TLS certificate did not verify";
    case httplib::Error::Canceled: return "cancelled";
    default: return "HTTP transport error: " + httplib::to_string(e);
  }
}

}  // namespace orbitflow
