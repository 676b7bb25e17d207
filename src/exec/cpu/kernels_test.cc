// Every kernel against a naive reference on random inputs. Tolerances are relative to the size
// of the terms (sum |a_i b_i| for a dot product), which is what rounding error scales with.
#include "exec/cpu/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "exec/cpu/test_util.h"
#include "exec/cpu/thread_pool.h"

namespace orbitflow {
namespace {

using testing::Rng;

std::vector<float> RandomVector(Rng& rng, int64_t n, float scale = 1.0f) {
  std::vector<float> v(n);
  testing::FillUniform(rng, v.data(), n, scale);
  return v;
}

// sum a*b in double, and sum |a*b| (the scale of its rounding error).
std::pair<double, double> NaiveDot(const float* a, const float* b, int n) {
  double sum = 0, mag = 0;
  for (int i = 0; i < n; ++i) {
    sum += double(a[i]) * b[i];
    mag += std::abs(double(a[i]) * b[i]);
  }
  return {sum, mag};
}

TEST(KernelsTest, DotMatchesNaive) {
  Rng rng(1);
  for (int n : {1, 2, 7, 15, 16, 17, 31, 32, 33, 64, 100, 172, 768, 2048}) {
    auto a = RandomVector(rng, n), b = RandomVector(rng, n);
    auto [want, mag] = NaiveDot(a.data(), b.data(), n);
    EXPECT_NEAR(Dot(a.data(), b.data(), n), want, 1e-5 * mag + 1e-30) << "n=" << n;
  }
}

TEST(KernelsTest, MatmulMatchesNaiveForManyShapes) {
  Rng rng(2);
  ThreadPool pool(3);
  for (int batch : {1, 2, 3, 4, 5, 8, 16, 17}) {
    for (int in : {1, 15, 16, 17, 100, 768}) {
      for (int out : {1, 3, 4, 5, 37}) {
        auto x = RandomVector(rng, int64_t{batch} * in), w = RandomVector(rng, int64_t{out} * in);
        std::vector<float> y(int64_t{batch} * out, -1.0f);
        Matmul(y.data(), x.data(), w.data(), batch, in, out, &pool);
        for (int b = 0; b < batch; ++b) {
          for (int o = 0; o < out; ++o) {
            auto [want, mag] = NaiveDot(&x[int64_t{b} * in], &w[int64_t{o} * in], in);
            ASSERT_NEAR(y[int64_t{b} * out + o], want, 1e-5 * mag + 1e-30)
                << "batch=" << batch << " in=" << in << " out=" << out << " b=" << b << " o=" << o;
          }
        }
      }
    }
  }
}

// The reproducibility contract: y[b][o] is the same float whatever the batch, the row's place in
// it, the thread count, and equals Dot(x[b], w[o]).
// One row streams the weight rows one at a time, larger batches use 2 x 3 tiles and their
// remainders (1 x 1 up to 2 x 2): all the same.
TEST(KernelsTest, MatmulRowIsBitIdenticalWhateverTheBatchAndThreads) {
  Rng rng(3);
  for (int in : {172, 768}) {
    const int out = 45;
    for (int batch : {2, 3, 4, 5, 8, 19}) {
      auto x = RandomVector(rng, int64_t{batch} * in), w = RandomVector(rng, int64_t{out} * in);
      ThreadPool pool1(1), pool4(4);
      std::vector<float> y_all(int64_t{batch} * out), y_all4(int64_t{batch} * out), y_one(out);
      Matmul(y_all.data(), x.data(), w.data(), batch, in, out, &pool1);
      Matmul(y_all4.data(), x.data(), w.data(), batch, in, out, &pool4);
      EXPECT_EQ(0, std::memcmp(y_all.data(), y_all4.data(), sizeof(float) * y_all.size()));
      for (int b = 0; b < batch; ++b) {
        Matmul(y_one.data(), &x[int64_t{b} * in], w.data(), 1, in, out, nullptr);
        for (int o = 0; o < out; ++o) {
          ASSERT_EQ(y_one[o], y_all[int64_t{b} * out + o])
              << "in=" << in << " batch=" << batch << " b=" << b << " o=" << o;
          ASSERT_EQ(y_one[o], Dot(&x[int64_t{b} * in], &w[int64_t{o} * in], in));
        }
      }
    }
  }
}

// Every tile shape and every row tail (n % 16 from 0 to 15, tails shorter than half a vector,
// and rows shorter than one vector) against Dot, for every batch size up to 2 tiles past a
// whole number of them and every thread count that splits the output differently.
TEST(KernelsTest, MatmulEqualsDotForEveryTileShapeAndTail) {
  Rng rng(33);
  ThreadPool pool1(1), pool2(2), pool3(3);
  for (int in : {1, 3, 8, 9, 15, 16, 17, 24, 31, 40, 47, 64}) {
    for (int batch = 1; batch <= 7; ++batch) {
      const int out = 3 * 4 + 2;  // whole tiles of 3 columns and a remainder of 2
      auto x = RandomVector(rng, int64_t{batch} * in), w = RandomVector(rng, int64_t{out} * in);
      for (ThreadPool* pool : {&pool1, &pool2, &pool3}) {
        std::vector<float> y(int64_t{batch} * out, -1.0f);
        Matmul(y.data(), x.data(), w.data(), batch, in, out, pool);
        for (int b = 0; b < batch; ++b) {
          for (int o = 0; o < out; ++o) {
            ASSERT_EQ(y[int64_t{b} * out + o], Dot(&x[int64_t{b} * in], &w[int64_t{o} * in], in))
                << "in=" << in << " batch=" << batch << " b=" << b << " o=" << o
                << " threads=" << pool->num_threads();
          }
        }
      }
    }
  }
}

TEST(KernelsTest, DotStridedEqualsDotBitForBit) {
  Rng rng(31);
  for (int n : {8, 16, 64, 100}) {
    for (int rows : {1, 3, 4, 5, 16}) {
      const int64_t stride = n + 13;
      auto x = RandomVector(rng, n), w = RandomVector(rng, rows * stride);
      std::vector<float> y(rows);
      DotStrided(y.data(), x.data(), w.data(), stride, rows, n);
      for (int j = 0; j < rows; ++j) {
        ASSERT_EQ(y[j], Dot(x.data(), &w[j * stride], n)) << "n=" << n << " rows=" << rows;
      }
    }
  }
}

TEST(KernelsTest, AccumulateWeightedMatchesNaiveAndIsOrderedByRow) {
  Rng rng(32);
  for (int n : {3, 8, 16, 64, 70, 128, 136, 141}) {
    const int rows = 37;
    const int64_t stride = n + 5;
    auto a = RandomVector(rng, rows), v = RandomVector(rng, rows * stride);
    auto start = RandomVector(rng, n);
    auto out = start;
    AccumulateWeighted(out.data(), a.data(), v.data(), stride, rows, n);
    for (int i = 0; i < n; ++i) {
      double want = start[i], mag = std::abs(start[i]);
      for (int t = 0; t < rows; ++t) {
        want += double(a[t]) * v[t * stride + i];
        mag += std::abs(double(a[t]) * v[t * stride + i]);
      }
      EXPECT_NEAR(out[i], want, 1e-5 * mag) << "n=" << n << " i=" << i;
    }
    // Splitting the rows into blocks (as attention does, one block at a time) changes nothing.
    auto split = start;
    for (int t0 = 0; t0 < rows; t0 += 16) {
      AccumulateWeighted(split.data(), &a[t0], &v[t0 * stride], stride, std::min(16, rows - t0), n);
    }
    EXPECT_EQ(0, std::memcmp(split.data(), out.data(), sizeof(float) * n));
  }
}

TEST(KernelsTest, RmsNormMatchesNaive) {
  Rng rng(4);
  for (int n : {1, 5, 16, 48, 100, 768}) {
    auto x = RandomVector(rng, n, 3.0f), weight = RandomVector(rng, n);
    std::vector<float> out(n);
    RmsNorm(out.data(), x.data(), weight.data(), n, 1e-5f);
    double ss = 0;
    for (float v : x) ss += double(v) * v;
    const double scale = 1.0 / std::sqrt(ss / n + 1e-5);
    for (int i = 0; i < n; ++i) {
      const double want = weight[i] * scale * x[i];
      EXPECT_NEAR(out[i], want, 1e-5 * std::abs(want) + 1e-7) << "n=" << n << " i=" << i;
    }
  }
  // Rows are independent and equal to the one-row kernel.
  const int rows = 3, n = 40;
  auto x = RandomVector(rng, rows * n), weight = RandomVector(rng, n);
  std::vector<float> all(rows * n), one(n);
  RmsNormRows(all.data(), x.data(), weight.data(), rows, n, 1e-5f);
  for (int r = 0; r < rows; ++r) {
    RmsNorm(one.data(), &x[r * n], weight.data(), n, 1e-5f);
    EXPECT_EQ(0, std::memcmp(one.data(), &all[r * n], sizeof(float) * n));
  }
}

// llama2.c's RoPE, written out: pair (i, i+1) of each head turns by pos * theta^(-i/head_dim).
void NaiveRope(std::vector<double>& v, int head_dim, int pos, double theta) {
  for (size_t i = 0; i < v.size(); i += 2) {
    const int hd = static_cast<int>(i % head_dim);
    const double angle = pos / std::pow(theta, double(hd) / head_dim);
    const double v0 = v[i], v1 = v[i + 1];
    v[i] = v0 * std::cos(angle) - v1 * std::sin(angle);
    v[i + 1] = v0 * std::sin(angle) + v1 * std::cos(angle);
  }
}

TEST(KernelsTest, RopeMatchesNaive) {
  Rng rng(5);
  for (int head_dim : {2, 8, 64, 128}) {
    for (int pos : {0, 1, 7, 100, 1000}) {
      for (float theta : {10000.0f, 500000.0f}) {
        const int n = head_dim * 3;
        auto v = RandomVector(rng, n);
        std::vector<double> want(v.begin(), v.end());
        NaiveRope(want, head_dim, pos, theta);
        auto got = v;
        Rope(got.data(), n, head_dim, pos, theta);
        // float angles: pos * freq carries a relative error ~6e-8, i.e. ~1e-4 rad at pos 1000.
        const double tol = 2e-6 + 2e-7 * pos;
        for (int i = 0; i < n; ++i) {
          ASSERT_NEAR(got[i], want[i], tol)
              << "head_dim=" << head_dim << " pos=" << pos << " i=" << i;
        }
        // The table form the forward pass uses is the same arithmetic.
        std::vector<float> cs(head_dim);
        auto tabled = v;
        RopeTable(cs.data(), head_dim, pos, theta);
        ApplyRope(tabled.data(), n, head_dim, cs.data());
        EXPECT_EQ(0, std::memcmp(tabled.data(), got.data(), sizeof(float) * n));
      }
    }
  }
}

TEST(KernelsTest, SoftmaxMatchesNaive) {
  Rng rng(6);
  for (int n : {1, 2, 17, 300}) {
    auto x = RandomVector(rng, n, 20.0f);
    std::vector<double> want(n);
    double mx = *std::max_element(x.begin(), x.end()), sum = 0;
    for (int i = 0; i < n; ++i) sum += want[i] = std::exp(double(x[i]) - mx);
    Softmax(x.data(), n);
    double total = 0;
    for (int i = 0; i < n; ++i) {
      EXPECT_NEAR(x[i], want[i] / sum, 1e-6 * want[i] / sum + 1e-9);
      total += x[i];
    }
    EXPECT_NEAR(total, 1.0, 1e-5);
  }
}

TEST(KernelsTest, SwiGluMatchesNaive) {
  Rng rng(7);
  const int n = 1000;
  auto hb = RandomVector(rng, n, 8.0f), hb2 = RandomVector(rng, n, 2.0f);
  auto got = hb;
  SwiGlu(got.data(), hb2.data(), n);
  for (int i = 0; i < n; ++i) {
    const double g = hb[i], want = g / (1.0 + std::exp(-g)) * hb2[i];
    EXPECT_NEAR(got[i], want, 1e-6 * std::abs(want) + 1e-9) << i;
  }
}

TEST(KernelsTest, AddInPlaceAndArgmax) {
  Rng rng(8);
  auto x = RandomVector(rng, 33), y = RandomVector(rng, 33);
  auto sum = x;
  AddInPlace(sum.data(), y.data(), 33);
  for (int i = 0; i < 33; ++i) EXPECT_EQ(sum[i], x[i] + y[i]);

  for (int n : {1, 2, 31, 32000}) {
    auto v = RandomVector(rng, n);
    EXPECT_EQ(Argmax(v.data(), n), std::max_element(v.begin(), v.end()) - v.begin());
  }
  const float ties[] = {1.0f, 3.0f, -2.0f, 3.0f, 3.0f};
  EXPECT_EQ(Argmax(ties, 5), 1);  // first of equal maxima
}

}  // namespace
}  // namespace orbitflow
