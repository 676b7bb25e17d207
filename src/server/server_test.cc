// End-to-end tests of the HTTP server on the bundled model, over real loopback sockets.
#include <atomic>
#include <chrono>
#include <latch>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/server_test_util.h"

namespace orbitflow {
namespace {

using json = nlohmann::json;
using testing::LiveServer;

json Post(httplib::Client& c, const std::string& path, const json& body, int* status) {
  auto res = c.Post(path.c_str(), body.dump(), "application/json");
  if (!res) {
    *status = -1;
    return {};
  }
  *status = res->status;
  return json::parse(res->body, nullptr, false);
}

// Streams a completion; returns the data payloads in order.
std::vector<std::string> Stream(httplib::Client& c, const std::string& path, const json& body, int* status) {
  std::vector<std::string> events;
  std::string buf;
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    buf.append(data, n);
    size_t at;
    while ((at = buf.find("\n\n")) != std::string::npos) {
      std::string ev = buf.substr(0, at);
      buf.erase(0, at + 2);
      if (ev.rfind("data: ", 0) == 0) events.push_back(ev.substr(6));
    }
    return true;
  };
  auto res = c.send(req);
  *status = res ? res->status : -1;
  return events;
}

TEST(ServerTest, CompletionNonStreaming) {
  LiveServer s;
  auto c = s.Client();
  int status = 0;
  json r = Post(c, "/v1/completions", {{"model", "stories260K"}, {"prompt", "Once upon a time"},
                                       {"max_tokens", 12}, {"temperature", 0}, {"ignore_eos", true}}, &status);
  ASSERT_EQ(status, 200) << r.dump();
  EXPECT_EQ(r["object"], "text_completion");
  EXPECT_EQ(r["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(r["usage"]["completion_tokens"], 12);
  EXPECT_FALSE(r["choices"][0]["text"].get<std::string>().empty());
  // Greedy decoding is deterministic: the same request gives the same text.
  json again = Post(c, "/v1/completions", {{"prompt", "Once upon a time"}, {"max_tokens", 12}, {"temperature", 0},
                                           {"ignore_eos", true}}, &status);
  EXPECT_EQ(again["choices"][0]["text"], r["choices"][0]["text"]);
}

TEST(ServerTest, CompletionStreamingMatchesNonStreaming) {
  LiveServer s;
  auto c = s.Client();
  int status = 0;
  const json body{{"prompt", "Once upon a time"}, {"max_tokens", 16}, {"temperature", 0}, {"ignore_eos", true}};
  json full = Post(c, "/v1/completions", body, &status);
  json sb = body;
  sb["stream"] = true;
  sb["stream_options"] = {{"include_usage", true}};
  std::vector<std::string> ev = Stream(c, "/v1/completions", sb, &status);
  ASSERT_EQ(status, 200);
  ASSERT_GE(ev.size(), 3u);
  EXPECT_EQ(ev.back(), "[DONE]");
  std::string text;
  std::string finish;
  int64_t usage_tokens = -1;
  for (size_t i = 0; i + 1 < ev.size(); ++i) {
    json j = json::parse(ev[i]);
    if (j.contains("usage")) {
      usage_tokens = j["usage"]["completion_tokens"];
      continue;
    }
    EXPECT_EQ(j["object"], "text_completion");
    text += j["choices"][0]["text"].get<std::string>();
    if (!j["choices"][0]["finish_reason"].is_null()) finish = j["choices"][0]["finish_reason"];
  }
  EXPECT_EQ(text, full["choices"][0]["text"].get<std::string>());
  EXPECT_EQ(finish, "length");
  EXPECT_EQ(usage_tokens, 16);
}

TEST(ServerTest, ChatCompletion) {
  LiveServer s;
  auto c = s.Client();
  int status = 0;
  json r = Post(c, "/v1/chat/completions",
                {{"messages", json::array({{{"role", "user"}, {"content", "Tell me a story."}}})}, {"max_tokens", 8}},
                &status);
  ASSERT_EQ(status, 200) << r.dump();
  EXPECT_EQ(r["object"], "chat.completion");
  EXPECT_EQ(r["choices"][0]["message"]["role"], "assistant");
  int sstatus = 0;
  auto ev = Stream(c, "/v1/chat/completions",
                   {{"messages", json::array({{{"role", "user"}, {"content", "Hi"}}})}, {"max_tokens", 4}, {"stream", true}},
                   &sstatus);
  ASSERT_EQ(sstatus, 200);
  EXPECT_EQ(json::parse(ev.front())["object"], "chat.completion.chunk");
}

TEST(ServerTest, BadInputs) {
  LiveServer s;
  auto c = s.Client();
  auto expect_400 = [&](const std::string& body, const std::string& param) {
    auto res = c.Post("/v1/completions", body, "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << body;
    json j = json::parse(res->body);
    EXPECT_TRUE(j["error"].contains("message")) << res->body;
    EXPECT_TRUE(j["error"].contains("type"));
    EXPECT_TRUE(j["error"].contains("code"));
    if (!param.empty()) EXPECT_EQ(j["error"]["param"], param) << res->body;
  };
  expect_400("{not json", "");
  expect_400("[1,2]", "");
  expect_400(R"({"prompt": 5})", "prompt");
  expect_400(R"({"prompt": ""})", "prompt");
  expect_400(R"({"prompt": "hi", "max_tokens": 0})", "max_tokens");
  expect_400(R"({"prompt": "hi", "max_tokens": "3"})", "max_tokens");
  expect_400(R"({"prompt": "hi", "max_tokens": 100000})", "max_tokens");
  expect_400(R"({"prompt": "hi", "temperature": "hot"})", "temperature");
  expect_400(R"({"prompt": [1, 99999]})", "prompt");
  expect_400(R"({"prompt": "hi", "orbitflow": {"tbt_slo_ms": -1}})", "orbitflow.tbt_slo_ms");
  std::string huge = R"({"prompt": [)";
  for (int i = 0; i < 600; ++i) huge += (i ? ",5" : "5");
  expect_400(huge + "]}", "prompt");
  auto res = c.Post("/v1/completions", R"({"model": "gpt-9", "prompt": "hi"})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(json::parse(res->body)["error"]["code"], "model_not_found");
  res = c.Get("/v1/nothing");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_TRUE(json::parse(res->body).contains("error"));
}

TEST(ServerTest, ModelsHealthMetricsState) {
  LiveServer s;
  auto c = s.Client();
  auto m = c.Get("/v1/models");
  ASSERT_TRUE(m);
  EXPECT_EQ(json::parse(m->body)["data"][0]["id"], "stories260K");
  auto h = c.Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  int status = 0;
  Post(c, "/v1/completions", {{"prompt", "Hello"}, {"max_tokens", 4}, {"ignore_eos", true}}, &status);
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  for (const char* name : {"orbitflow:num_requests_running", "orbitflow:generation_tokens_total",
                           "orbitflow:time_to_first_token_seconds_bucket", "orbitflow:kv_cache_usage_perc",
                           "orbitflow:request_success_total"}) {
    EXPECT_NE(metrics->body.find(name), std::string::npos) << name;
  }
  auto st = c.Get("/orbitflow/state");
  ASSERT_TRUE(st);
  json j = json::parse(st->body);
  EXPECT_TRUE(j.contains("tiers"));
  EXPECT_EQ(j["tiers"]["device"]["used_blocks"], 0);
  // The engine's own step times and token gaps, exact, for the HTTP overhead figure.
  const json& lat = j["latency"];
  EXPECT_GE(lat["step_time_ms"]["samples"].get<int64_t>(), 4) << lat.dump();
  EXPECT_EQ(lat["inter_token_latency_ms"]["samples"], 3) << lat.dump();
  EXPECT_LE(lat["step_time_ms"]["p50"].get<double>(), lat["step_time_ms"]["p99"].get<double>());
}

TEST(ServerTest, StopRightAfterStartReturns) {
  // Stop() may come before the serving thread has started the library's listen loop, whose
  // stop() is a no-op until then: the loop must not be left accepting forever.
  for (int i = 0; i < 30; ++i) {
    LiveServer s;
    s.Stop();
  }
}

TEST(ServerTest, BusyPortFailsToBind) {
  LiveServer s;
  Tokenizer tok = LoadTokenizer(std::string(ORBITFLOW_REPO_DIR) + "/models/stories260K/tok512.bin").value();
  ApiLimits limits{.model_name = "stories260K", .max_context = 512, .vocab_size = tok.vocab_size()};
  // A second server on the same port must fail to bind rather than share the first one's
  // connections.
  HttpServer other({.host = "127.0.0.1", .port = s.port()}, limits, &s.service(), &tok);
  Status st = other.Bind();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("cannot bind"), std::string::npos) << st.message();
}

TEST(ServerConcurrentTest, DisconnectCancelsAndFreesBlocks) {
  LiveServer s;
  {
    auto c = s.Client();
    int received = 0;
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/completions";
    req.body = json{{"prompt", "Once upon a time"}, {"max_tokens", 400}, {"ignore_eos", true}, {"stream", true},
                    {"orbitflow", {{"paced", true}, {"tbt_slo_ms", 20}}}}.dump();
    req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) { return ++received < 3; };
    c.send(req);  // the receiver returning false closes the connection mid-stream
    EXPECT_GE(received, 3);
  }
  // The server notices, cancels through the engine thread and the pools empty again.
  auto c = s.Client();
  for (int i = 0; i < 200; ++i) {
    json j = json::parse(c.Get("/orbitflow/state")->body);
    if (j["tiers"]["device"]["used_blocks"] == 0 && j["requests"].empty() && s.service().outstanding() == 0) {
      SUCCEED();
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL() << "the disconnected request still holds blocks: " << c.Get("/orbitflow/state")->body;
}

TEST(ServerConcurrentTest, BurstOfSimultaneousConnectsAllAnswered) {
  // More simultaneous connects than HTTP threads: the listen backlog must hold them until the
  // server accepts them (Debian's library alone listens with a backlog of 5).
  constexpr int kClients = 300;
  LiveServer s({.http_threads = 16});
  std::atomic<int> ok{0};
  std::latch start(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&] {
      auto c = s.Client();
      start.arrive_and_wait();  // connect all at once
      auto res = c.Get("/health");
      if (res && res->status == 200) ++ok;
      else ADD_FAILURE() << (res ? "status " + std::to_string(res->status) : httplib::to_string(res.error()));
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), kClients);
}

// Fails every step: a stand-in for a plan the executor rejects.
class FailingExecutor final : public Executor {
 public:
  std::string_view name() const override { return "failing"; }
  StatusOr<StepResult> Execute(const StepPlan&, const KvCacheManager&) override {
    return InvalidArgument("rejected plan");
  }
};

TEST(ServerConcurrentTest, StepThatKeepsFailingFailsRequestsInsteadOfHanging) {
  const std::string dir = std::string(ORBITFLOW_REPO_DIR) + "/models/stories260K/";
  Model model = LoadModel(dir + "stories260K.bin").value();
  Tokenizer tok = LoadTokenizer(dir + "tok512.bin").value();
  ServingStackOptions so{.max_batch = 4, .threads = 1};
  std::unique_ptr<ServingStack> stack =
      BuildServingStack(&model, &tok, MakeBaselinePlanner("all-device").value(), so).value();
  FailingExecutor failing;
  EngineServiceDeps deps = stack->Deps(so);
  deps.executor = &failing;
  deps.set_sampling = nullptr;
  std::unique_ptr<EngineService> service = EngineService::Create(deps, {.max_batch = 4, .max_queue = 4}).value();
  std::vector<std::shared_ptr<TokenChannel>> channels;
  for (int i = 0; i < 3; ++i) {
    RequestSpec spec;
    spec.prompt_tokens = 3;
    spec.max_output_tokens = 4;
    spec.prompt = {1, 5, 6};
    channels.push_back(service->TrySubmit(std::move(spec)).value());
  }
  for (auto& ch : channels) {
    size_t consumed = 0;
    std::vector<int32_t> tokens;
    TokenChannel::Update u;
    for (int i = 0; i < 500 && !u.closed; ++i) u = ch->Wait(&consumed, std::chrono::milliseconds(20), &tokens);
    ASSERT_TRUE(u.closed) << "a request hangs behind a step that keeps failing";
    EXPECT_EQ(u.reason, FinishReason::kFailed);
    EXPECT_NE(u.message.find("rejected plan"), std::string::npos) << u.message;
  }
  for (int i = 0; i < 200 && service->outstanding() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(service->outstanding(), 0);
  service->Shutdown(std::chrono::milliseconds(0));
}

TEST(ServerConcurrentTest, FullQueueAnswers429AndStaysHealthy) {
  LiveServer s({.max_batch = 2, .max_queue = 2, .http_threads = 32});
  std::atomic<int> ok{0}, limited{0}, other{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 16; ++i) {
    clients.emplace_back([&] {
      auto c = s.Client();
      auto res = c.Post("/v1/completions", json{{"prompt", "Once"}, {"max_tokens", 60}, {"ignore_eos", true}}.dump(),
                        "application/json");
      if (res && res->status == 200) {
        ++ok;
      } else if (res && res->status == 429) {
        EXPECT_TRUE(res->has_header("Retry-After"));
        ++limited;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_GE(ok.load(), 4);
  EXPECT_GT(limited.load(), 0);
  EXPECT_EQ(other.load(), 0);
  auto c = s.Client();
  EXPECT_EQ(c.Get("/health")->status, 200);
  int status = 0;
  Post(c, "/v1/completions", {{"prompt", "Once"}, {"max_tokens", 4}}, &status);
  EXPECT_EQ(status, 200);
}

TEST(ServerConcurrentTest, ManyStreamsAndCleanShutdown) {
  LiveServer s({.max_batch = 8, .max_queue = 64, .http_threads = 64});
  std::atomic<int> done{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 32; ++i) {
    clients.emplace_back([&, i] {
      auto c = s.Client();
      int status = 0;
      auto ev = Stream(c, "/v1/completions", {{"prompt", "Once upon a time"}, {"max_tokens", 64 + i % 5},
                                               {"ignore_eos", true}, {"stream", true}}, &status);
      if (status == 200 && !ev.empty() && ev.back() == "[DONE]") ++done;
      else ADD_FAILURE() << "status " << status << " events " << ev.size() << " last " << (ev.empty() ? "" : ev.back());
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(done.load(), 32);
  s.Stop();
  EXPECT_EQ(s.service().outstanding(), 0);
  EXPECT_TRUE(s.service().draining());
}

}  // namespace
}  // namespace orbitflow
