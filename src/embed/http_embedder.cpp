#include "embed/http_embedder.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>

#include "embed/text.hpp"

namespace lunadb::embed_detail {
namespace {

std::string seconds_text(double seconds) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g s", seconds);
  return buffer;
}

bool is_retryable_status(long status) { return status == 429 || (status >= 500 && status <= 599); }

bool is_retryable_transport(Transport transport) {
  return transport == Transport::connect_failed || transport == Transport::connect_timeout ||
         transport == Transport::timeout || transport == Transport::broken;
}

std::string attempts_text(int attempts) {
  return attempts == 1 ? std::string() : " after " + std::to_string(attempts) + " attempts";
}

}  // namespace

HttpEmbedder::HttpEmbedder(ServerInfo info, const std::string& base_url, std::string model,
                           std::string api_key, const Settings& settings, const RetryPolicy& retry)
    : info_(std::move(info)),
      base_url_(base_url),
      model_(std::move(model)),
      api_key_(std::move(api_key)),
      timeout_s_(settings.embed_timeout_s),
      max_retries_(settings.embed_max_retries),
      batch_size_(static_cast<std::size_t>(settings.embed_batch_size)),
      retry_(retry) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
  shown_url_ = redact(redact_url(base_url_), api_key_);
}

std::optional<std::size_t> HttpEmbedder::dimension() const {
  if (const std::size_t seen = observed_dimension_.load(std::memory_order_relaxed); seen != 0) return seen;
  return known_model_dimension(model_);
}

std::string HttpEmbedder::where() const {
  return "the " + info_.label + " at " + shown_url_ + " (" + info_.url_setting + ")";
}

void HttpEmbedder::fail(ErrorKind kind, const std::string& message) const {
  throw Error(kind, redact(message, api_key_));
}

std::string HttpEmbedder::body_summary(const HttpResult& result) const {
  // Redact before cutting, so that a cut can never leave a fragment of the key behind.
  return summarize_body(redact(result.body, api_key_));
}

std::chrono::milliseconds HttpEmbedder::backoff_before_retry(int retry_index, const HttpResult& last) const {
  using std::chrono::milliseconds;
  if (last.transport == Transport::ok && last.status == 429 && last.retry_after) {
    return std::min(*last.retry_after, retry_.max_retry_after);
  }
  const int doublings = std::min(retry_index, 30);
  const double uncapped = static_cast<double>(retry_.initial_backoff.count()) * std::ldexp(1.0, doublings);
  const double ceiling = std::min(uncapped, static_cast<double>(retry_.max_backoff.count()));
  // Jitter spreads out the retries of clients that failed together.
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::uniform_real_distribution<double> share(0.5, 1.0);
  return milliseconds(static_cast<long long>(ceiling * share(random)));
}

Answer HttpEmbedder::post(HttpSession& session, const std::string& path, const nlohmann::json& body) const {
  const std::string url = base_url_ + path;
  const std::string payload = body.dump();
  Answer answer;
  for (int attempt = 1;; ++attempt) {
    answer.http = session.post_json(url, payload);
    answer.attempts = attempt;
    const bool retryable = answer.http.transport == Transport::ok ? is_retryable_status(answer.http.status)
                                                                   : is_retryable_transport(answer.http.transport);
    if (!retryable || attempt > max_retries_) break;
    std::this_thread::sleep_for(backoff_before_retry(attempt - 1, answer.http));
  }
  const HttpResult& last = answer.http;
  const std::string tries = attempts_text(answer.attempts);
  switch (last.transport) {
    case Transport::ok:
      return answer;
    case Transport::connect_failed:
      fail(ErrorKind::connection, "cannot reach " + where() + tries + ": " + last.transport_message + ". " +
                                      info_.unreachable_hint);
    case Transport::connect_timeout:
      fail(ErrorKind::connection, "cannot reach " + where() + tries + ": no connection within " +
                                      seconds_text(std::min(timeout_s_, 10.0)) + " (EMBED_TIMEOUT=" +
                                      seconds_text(timeout_s_) + "). " + info_.unreachable_hint);
    case Transport::timeout:
      fail(ErrorKind::connection, where() + " did not answer " + path + " within " + seconds_text(timeout_s_) +
                                      " (EMBED_TIMEOUT)" + tries + "; raise EMBED_TIMEOUT if the server is slow, "
                                      "for example while it loads the model, or lower EMBED_BATCH_SIZE");
    case Transport::broken:
      fail(ErrorKind::connection, "the connection to " + where() + " broke" + tries + ": " +
                                      last.transport_message);
    case Transport::fatal:
      fail(ErrorKind::connection, "request to " + where() + " failed: " + last.transport_message);
  }
  fail(ErrorKind::internal, "unexpected transport state");
}

void HttpEmbedder::fail_http(const Answer& answer, const std::string& path) const {
  const long status = answer.http.status;
  const std::string code = "HTTP " + std::to_string(status);
  const std::string summary = body_summary(answer.http);
  const std::string tries = attempts_text(answer.attempts);
  if (status == 401 || status == 403) {
    fail(ErrorKind::connection, where() + " refused the request (" + code + "): " + summary + "; " +
                                    info_.credentials_hint);
  }
  if (status == 429) {
    fail(ErrorKind::embedding, where() + " is rate limiting requests (" + code + ")" + tries + ": " + summary +
                                   "; lower EMBED_BATCH_SIZE or raise EMBED_MAX_RETRIES");
  }
  if (status >= 500) {
    fail(ErrorKind::embedding, where() + " failed (" + code + ")" + tries + ": " + summary);
  }
  if (status == 404) {
    fail(ErrorKind::embedding, where() + " has no " + path + " endpoint or does not know the model '" + model_ +
                                   "' (" + info_.model_setting + ") (" + code + "): " + summary +
                                   "; check " + info_.url_setting + " and " + info_.model_setting);
  }
  fail(ErrorKind::embedding, where() + " rejected the request to " + path + " (" + code + "): " + summary);
}

nlohmann::json HttpEmbedder::parse_body(const Answer& answer, const std::string& path) const {
  try {
    return nlohmann::json::parse(answer.http.body);
  } catch (const nlohmann::json::exception& error) {
    std::string reason = error.what();
    const std::string& body = answer.http.body;
    if (body.find("NaN") != std::string::npos || body.find("Infinity") != std::string::npos) {
      reason = "it contains NaN or Infinity, which JSON does not allow";
    } else if (error.id == 406) {
      reason = "a number is out of range";
    }
    fail(ErrorKind::embedding, where() + " answered " + path + " with malformed JSON (" + reason + "): " +
                                   summarize_body(redact(body, api_key_), 120));
  }
}

std::vector<float> HttpEmbedder::to_vector(const nlohmann::json& value, std::size_t input_index) const {
  const std::string which = "the vector for input " + std::to_string(input_index);
  if (!value.is_array()) {
    fail(ErrorKind::embedding, where() + " returned " + which + " as " + value.type_name() +
                                   ", not an array of numbers");
  }
  if (value.empty()) fail(ErrorKind::embedding, where() + " returned an empty vector for input " + std::to_string(input_index));
  std::vector<float> vector;
  vector.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto& element = value[i];
    if (!element.is_number()) {
      fail(ErrorKind::embedding, where() + " returned " + which + " with a " + element.type_name() +
                                     " at position " + std::to_string(i) + ", not a number");
    }
    const auto number = static_cast<float>(element.get<double>());
    if (!std::isfinite(number)) {
      fail(ErrorKind::embedding, where() + " returned " + which + " with a non-finite value (NaN or infinity "
                                     "as a 32-bit float) at position " + std::to_string(i));
    }
    vector.push_back(number);
  }
  return vector;
}

std::vector<std::vector<float>> HttpEmbedder::embed(const std::vector<std::string>& texts) {
  for (std::size_t i = 0; i < texts.size(); ++i) {
    if (auto offset = first_invalid_utf8(texts[i])) {
      throw Error(ErrorKind::invalid_argument, "input " + std::to_string(i) +
                                                   " is not valid UTF-8 (bad byte sequence at byte " +
                                                   std::to_string(*offset) + ")");
    }
  }
  std::vector<std::vector<float>> vectors;
  if (texts.empty()) return vectors;
  vectors.reserve(texts.size());

  HttpSession session(timeout_s_, api_key_);
  for (std::size_t first = 0; first < texts.size(); first += batch_size_) {
    const std::size_t count = std::min(batch_size_, texts.size() - first);
    auto batch = embed_batch(session, texts, first, count);
    if (batch.size() != count) {
      fail(ErrorKind::embedding, where() + " returned " + std::to_string(batch.size()) + " vector(s) for " +
                                     std::to_string(count) + " texts (inputs " + std::to_string(first) + " to " +
                                     std::to_string(first + count - 1) + "); expected one per text");
    }
    for (auto& vector : batch) vectors.push_back(std::move(vector));
  }

  const std::size_t dimension = vectors.front().size();
  for (std::size_t i = 1; i < vectors.size(); ++i) {
    if (vectors[i].size() != dimension) {
      fail(ErrorKind::embedding, where() + " returned vectors of inconsistent dimension: input 0 has " +
                                     std::to_string(dimension) + " values, input " + std::to_string(i) + " has " +
                                     std::to_string(vectors[i].size()));
    }
  }
  std::size_t expected = 0;
  if (!observed_dimension_.compare_exchange_strong(expected, dimension) && expected != dimension) {
    fail(ErrorKind::embedding, where() + " now returns vectors of dimension " + std::to_string(dimension) +
                                   " for model '" + model_ + "' but returned dimension " + std::to_string(expected) +
                                   " before; did the model behind " + info_.model_setting + " change?");
  }
  return vectors;
}

}  // namespace lunadb::embed_detail
