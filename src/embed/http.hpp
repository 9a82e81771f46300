#pragma once
// A small JSON-over-HTTP POST client on libcurl, for the embedding providers.
//
// Thread-safety: HttpSession is not thread-safe; make one per embed() call (it keeps the
// connection alive between the batches of that call). libcurl's global state is initialised once,
// on first use, from any thread.

#include <chrono>
#include <optional>
#include <string>

namespace lunadb::embed_detail {

enum class Transport {
  ok,               // an HTTP response arrived (any status)
  connect_failed,   // refused, unresolvable host, network unreachable
  connect_timeout,  // no connection within the connect timeout
  timeout,          // connected, but the whole exchange outlasted the total timeout
  broken,           // connection dropped mid-exchange, empty reply: worth retrying
  fatal,            // TLS verification, bad URL, response too large, ...: not retried
};

struct HttpResult {
  Transport transport = Transport::ok;
  std::string transport_message;  // curl's description when transport != ok
  long status = 0;
  std::string body;
  std::optional<std::chrono::milliseconds> retry_after;  // from Retry-After / retry-after-ms
};

class HttpSession {
 public:
  // `bearer_token` empty: no Authorization header.
  HttpSession(double total_timeout_s, const std::string& bearer_token);
  ~HttpSession();
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  HttpResult post_json(const std::string& url, const std::string& json_body);

 private:
  void* curl_ = nullptr;           // CURL*
  void* request_headers_ = nullptr;  // curl_slist*
  double total_timeout_s_;
};

}  // namespace lunadb::embed_detail
