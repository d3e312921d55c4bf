// A small blocking HTTP/1.1 client on libcurl for the VC-API tests and benchmark.
//
// One HttpClient owns one libcurl easy handle, so consecutive requests reuse the connection
// (keep-alive), as a real VC API client would. Not thread-safe: one client per thread.
#pragma once

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcc/common/json.h"

namespace tcc::testing {

struct HttpResponse {
  long status = 0;  // 0 when the request failed at the transport level (see error)
  std::string body;
  std::string content_type;
  std::string headers;  // the response's header lines, as received
  std::string error;

  // The value of header `name` (case-insensitive), or nullopt.
  std::optional<std::string> Header(std::string_view name) const {
    std::size_t start = 0;
    while (start < headers.size()) {
      const std::size_t end = std::min(headers.find("\r\n", start), headers.size());
      const std::string_view line = std::string_view(headers).substr(start, end - start);
      const std::size_t colon = line.find(':');
      if (colon == name.size() &&
          std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
          })) {
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        return std::string(value);
      }
      start = end + 2;
    }
    return std::nullopt;
  }

  // The body parsed; a null Json when it is not JSON.
  Json json() const {
    auto parsed = Json::Parse(body);
    return parsed.ok() ? std::move(parsed).value() : Json();
  }
};

class HttpClient {
 public:
  // `address` is "HOST:PORT"; `source`, when given, the local address to connect from (e.g.
  // 127.0.0.2, to be another client than 127.0.0.1 to a server's per-address limits).
  explicit HttpClient(std::string address, std::string source = {})
      : base_("http://" + std::move(address)),
        source_(std::move(source)),
        curl_(curl_easy_init()) {}
  ~HttpClient() { curl_easy_cleanup(curl_); }
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // From now on: HTTPS, trusting the certificates of the PEM file `ca_file` only.
  void UseTls(std::string ca_file) {
    base_.replace(0, 4, "https");
    ca_file_ = std::move(ca_file);
  }

  HttpResponse Get(std::string_view path) { return Send("GET", path, nullptr, {}); }

  // Sees every answer any client receives, once set (the VC-API tests check each against the
  // OpenAPI document). Set it before clients run; it is called on their threads.
  using Observer = std::function<void(std::string_view method, std::string_view path, const HttpResponse&)>;
  static Observer& observer() {
    static Observer observer;
    return observer;
  }

  // POST with a Content-Length, or with chunked transfer encoding (no length announced).
  HttpResponse Post(std::string_view path, std::string_view body, const std::vector<std::string>& headers = {},
                    bool chunked = false) {
    std::vector<std::string> all = headers;
    all.push_back("Content-Type: application/json");
    all.push_back("Expect:");  // no 100-continue round trip
    if (chunked) all.push_back("Transfer-Encoding: chunked");
    return Send("POST", path, &body, all, chunked);
  }

  HttpResponse Send(const char* method, std::string_view path, const std::string_view* body,
                    const std::vector<std::string>& headers, bool chunked = false) {
    HttpResponse response;
    const std::string url = base_ + std::string(path);
    curl_easy_reset(curl_);
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    if (!ca_file_.empty()) curl_easy_setopt(curl_, CURLOPT_CAINFO, ca_file_.c_str());
    const std::string interface = "host!" + source_;
    if (!source_.empty()) curl_easy_setopt(curl_, CURLOPT_INTERFACE, interface.c_str());
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &HttpClient::Append);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &response.body);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, &HttpClient::Append);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &response.headers);
    Upload upload;
    if (body != nullptr) {
      curl_easy_setopt(curl_, CURLOPT_POST, 1L);
      if (chunked) {
        upload.data = *body;
        curl_easy_setopt(curl_, CURLOPT_READFUNCTION, &HttpClient::Read);
        curl_easy_setopt(curl_, CURLOPT_READDATA, &upload);
      } else {
        curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body->data());
        curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
      }
    }
    curl_slist* list = nullptr;
    for (const auto& header : headers) list = curl_slist_append(list, header.c_str());
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, list);
    const CURLcode code = curl_easy_perform(curl_);
    curl_slist_free_all(list);
    if (code != CURLE_OK) {
      response.error = curl_easy_strerror(code);
      return response;
    }
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &response.status);
    char* content_type = nullptr;
    curl_easy_getinfo(curl_, CURLINFO_CONTENT_TYPE, &content_type);
    if (content_type != nullptr) response.content_type = content_type;
    if (observer()) observer()(method, path, response);
    return response;
  }

  // Whether the last request went over a connection an earlier one opened (keep-alive).
  bool reused_connection() {
    long opened = 0;
    curl_easy_getinfo(curl_, CURLINFO_NUM_CONNECTS, &opened);
    return opened == 0;
  }

 private:
  struct Upload {
    std::string_view data;
  };

  static size_t Append(char* data, size_t size, size_t count, void* out) {
    static_cast<std::string*>(out)->append(data, size * count);
    return size * count;
  }

  static size_t Read(char* buffer, size_t size, size_t count, void* in) {
    auto* upload = static_cast<Upload*>(in);
    const size_t n = std::min(size * count, upload->data.size());
    std::copy(upload->data.begin(), upload->data.begin() + static_cast<std::ptrdiff_t>(n), buffer);
    upload->data.remove_prefix(n);
    return n;
  }

  std::string base_;
  std::string source_;
  std::string ca_file_;
  CURL* curl_;
};

}  // namespace tcc::testing
