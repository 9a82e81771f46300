#include "embed/http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <stdexcept>
#include <string_view>

#include "lunadb/error.hpp"

namespace lunadb::embed_detail {
namespace {

// An embedding answer is a few MB at most; anything far larger is a misbehaving server.
constexpr std::size_t max_response_bytes = 256u * 1024u * 1024u;
constexpr double max_connect_timeout_s = 10.0;

void init_curl_once() {
  static std::once_flag once;
  static CURLcode init_result = CURLE_OK;
  std::call_once(once, [] { init_result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (init_result != CURLE_OK) {
    throw Error(ErrorKind::internal,
                std::string("libcurl could not be initialised: ") + curl_easy_strerror(init_result));
  }
}

struct Exchange {
  std::string body;
  bool too_large = false;
  std::optional<std::chrono::milliseconds> retry_after;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  const std::size_t bytes = size * count;
  if (exchange->body.size() + bytes > max_response_bytes) {
    exchange->too_large = true;
    return 0;  // makes curl abort with CURLE_WRITE_ERROR
  }
  exchange->body.append(data, bytes);
  return bytes;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<double> parse_non_negative_number(std::string_view text) {
  double value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || !(value >= 0)) return std::nullopt;
  return value;
}

// Retry-After is either delta-seconds or an HTTP date; OpenAI also sends retry-after-ms.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view name, std::string_view value) {
  using std::chrono::milliseconds;
  constexpr double max_ms = 24.0 * 3600 * 1000;  // keeps the conversion in range
  if (iequals(name, "retry-after-ms")) {
    if (auto ms = parse_non_negative_number(value)) return milliseconds(static_cast<long long>(std::min(*ms, max_ms)));
    return std::nullopt;
  }
  if (auto seconds = parse_non_negative_number(value)) {
    return milliseconds(static_cast<long long>(std::min(*seconds * 1000, max_ms)));
  }
  const std::string date(value);
  const time_t when = curl_getdate(date.c_str(), nullptr);
  if (when < 0) return std::nullopt;
  const double delta_s = std::difftime(when, std::time(nullptr));
  return milliseconds(static_cast<long long>(std::clamp(delta_s * 1000, 0.0, max_ms)));
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  const std::size_t bytes = size * count;
  const std::string_view line(data, bytes);
  if (line.starts_with("HTTP/")) {
    exchange->retry_after.reset();  // a new response (after a 100 Continue): forget the last one's
    return bytes;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return bytes;
  const auto name = trim(line.substr(0, colon));
  if (!iequals(name, "retry-after") && !iequals(name, "retry-after-ms")) return bytes;
  if (auto delay = parse_retry_after(name, trim(line.substr(colon + 1)))) {
    // retry-after-ms is the more precise of the two when both are present.
    if (iequals(name, "retry-after-ms") || !exchange->retry_after) exchange->retry_after = delay;
  }
  return bytes;
}

// Loopback is never proxied (a local Ollama behind an http_proxy setting would be unreachable);
// the user's own no_proxy list still applies to everything else.
std::string no_proxy_list() {
  std::string list = "localhost,127.0.0.1,::1";
  for (const char* name : {"no_proxy", "NO_PROXY"}) {
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0') {
      list += ',';
      list += value;
      break;
    }
  }
  return list;
}

Transport classify(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return Transport::connect_failed;
    case CURLE_OPERATION_TIMEDOUT:
      return Transport::timeout;  // refined by the caller using the connect time
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return Transport::broken;
    default:
      return Transport::fatal;
  }
}

}  // namespace

HttpSession::HttpSession(double total_timeout_s, const std::string& bearer_token)
    : total_timeout_s_(total_timeout_s) {
  init_curl_once();
  curl_ = curl_easy_init();
  if (curl_ == nullptr) throw Error(ErrorKind::internal, "libcurl could not create a handle");
  curl_slist* headers = nullptr;
  const auto append = [&headers](const std::string& header) {
    curl_slist* extended = curl_slist_append(headers, header.c_str());
    if (extended == nullptr) {
      curl_slist_free_all(headers);
      throw std::bad_alloc();
    }
    headers = extended;
  };
  try {
    append("Content-Type: application/json");
    append("Accept: application/json");
    append("Expect:");  // no 100-continue round trip for large batches
    if (!bearer_token.empty()) append("Authorization: Bearer " + bearer_token);
  } catch (...) {
    curl_easy_cleanup(static_cast<CURL*>(curl_));
    throw;
  }
  request_headers_ = headers;
}

HttpSession::~HttpSession() {
  curl_easy_cleanup(static_cast<CURL*>(curl_));
  curl_slist_free_all(static_cast<curl_slist*>(request_headers_));
}

HttpResult HttpSession::post_json(const std::string& url, const std::string& json_body) {
  auto* curl = static_cast<CURL*>(curl_);
  Exchange exchange;
  char error_buffer[CURL_ERROR_SIZE] = {};
  const std::string no_proxy = no_proxy_list();
  const long total_ms = std::max(1L, static_cast<long>(total_timeout_s_ * 1000));
  const long connect_ms = std::max(1L, static_cast<long>(std::min(total_timeout_s_, max_connect_timeout_s) * 1000));

  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(request_headers_));
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json_body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(json_body.size()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &exchange);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &exchange);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM: required with threads
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, total_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, no_proxy.c_str());
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "lunadb/0.1");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif

  const CURLcode code = curl_easy_perform(curl);
  // The handle outlives this call: leave it pointing at nothing on our stack.
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, nullptr);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, nullptr);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, nullptr);

  HttpResult result;
  if (code != CURLE_OK) {
    result.transport = classify(code);
    if (result.transport == Transport::timeout) {
      curl_off_t connected_us = 0;
      curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connected_us);
      if (connected_us == 0) result.transport = Transport::connect_timeout;
    }
    if (exchange.too_large) {
      result.transport = Transport::fatal;
      result.transport_message = "the response is larger than " +
                                 std::to_string(max_response_bytes / (1024 * 1024)) + " MiB";
    } else {
      result.transport_message = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
    }
    return result;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  result.body = std::move(exchange.body);
  result.retry_after = exchange.retry_after;
  return result;
}

}  // namespace lunadb::embed_detail
