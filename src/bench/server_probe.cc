#include "bench/server_probe.h"

#include <httplib.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "bench/transport_error.h"

namespace orbitflow {

StatusOr<ServerTarget> ParseServerUrl(const std::string& url) {
  const size_t sep = url.find("://");
  if (sep == std::string::npos) {
    return InvalidArgument(fmt::format("--url '{}': expected http://HOST[:PORT][/PREFIX]", url));
  }
  const std::string scheme = url.substr(0, sep);
  if (scheme != "http" && scheme != "https") {
    return InvalidArgument(fmt::format("--url '{}': the scheme must be http or https", url));
  }
  std::string rest = url.substr(sep + 3);
  const size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : rest.substr(slash);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (authority.empty() || authority.front() == ':') {
    return InvalidArgument(fmt::format("--url '{}': no host", url));
  }
  if (const size_t colon = authority.rfind(':'); colon != std::string::npos && authority.back() != ']') {
    const std::string port = authority.substr(colon + 1);
    if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 ||
        std::stoi(port) < 1 || std::stoi(port) > 65535) {
      return InvalidArgument(fmt::format("--url '{}': bad port '{}'", url, port));
    }
  }
  return ServerTarget{.url = url, .scheme_host_port = scheme + "://" + authority, .path_prefix = prefix};
}

StatusOr<ServerInfo> ProbeServer(const ServerTarget& target, const std::string& api_key, const std::string& wanted) {
  httplib::Client client(target.scheme_host_port);
  if (!client.is_valid()) return InvalidArgument(fmt::format("--url '{}': not a usable address", target.url));
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(30, 0);
  httplib::Headers headers;
  if (!api_key.empty()) headers.emplace("Authorization", "Bearer " + api_key);
  const std::string path = target.path_prefix + "/v1/models";
  httplib::Result res = client.Get(path, headers);
  if (!res) {
    return Unavailable(fmt::format("cannot reach the server at {}: {}", target.url, TransportError(res.error())));
  }
  if (res->status == 401 || res->status == 403) {
    return FailedPrecondition(fmt::format("{}/v1/models answered HTTP {}: pass --api-key", target.url, res->status));
  }
  nlohmann::json listed = nlohmann::json::array();
  if (res->status == 200) {  // otherwise a server without the route; --model names the model
    const nlohmann::json j = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("data") && j["data"].is_array()) listed = j["data"];
  }
  ServerInfo info;
  const nlohmann::json* chosen = nullptr;
  for (const nlohmann::json& m : listed) {
    if (!m.is_object() || !m.contains("id") || !m["id"].is_string()) continue;
    info.models.push_back(m["id"].get<std::string>());
    if (!chosen && (wanted.empty() || wanted == info.models.back())) chosen = &m;
  }
  if (!wanted.empty() && !info.models.empty() && !chosen) {
    return NotFound(fmt::format("--model '{}' is not served by {} (it serves: {})", wanted, target.url,
                                fmt::join(info.models, ", ")));
  }
  if (!chosen) {
    if (wanted.empty()) {
      return InvalidArgument(fmt::format("{} lists no model at /v1/models (HTTP {}); pass --model", target.url,
                                         res->status));
    }
    info.model = wanted;
    return info;
  }
  const nlohmann::json& m = *chosen;
  info.model = m["id"].get<std::string>();
  if (m.contains("max_model_len") && m["max_model_len"].is_number_integer()) {
    info.max_model_len = m["max_model_len"].get<int64_t>();
  }
  if (m.contains("orbitflow") && m["orbitflow"].is_object()) {
    info.orbitflow = true;
    if (m["orbitflow"].contains("vocab_size") && m["orbitflow"]["vocab_size"].is_number_integer()) {
      info.vocab_size = m["orbitflow"]["vocab_size"].get<int32_t>();
    }
  }
  return info;
}

}  // namespace orbitflow
