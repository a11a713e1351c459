#include "bench/model/fit.h"

#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <string>

namespace seams::bench::model {

double LinearFit::predict(const std::vector<double>& x) const {
  double s = 0;
  for (std::size_t j = 0; j < params.size(); ++j) s += x[j] * params[j].value;
  return s;
}

double LinearFit::predictSe(const std::vector<double>& x) const {
  double v = 0;
  for (std::size_t j = 0; j < params.size(); ++j) {
    for (std::size_t k = 0; k < params.size(); ++k) v += x[j] * cov[j][k] * x[k];
  }
  return std::sqrt(std::max(v, 0.0));
}

double studentT95(int dof) {
  return boost::math::quantile(boost::math::students_t_distribution<double>(dof), 0.975);
}

Result<LinearFit> leastSquares(const std::vector<std::vector<double>>& x,
                               const std::vector<double>& y, const std::vector<Term>& terms,
                               const std::vector<double>& weights) {
  const std::size_t n = y.size(), p = terms.size();
  if (p == 0) return Status(Errc::invalid_argument, "a model with no terms");
  if (x.size() != n) return Status(Errc::invalid_argument, "rows of X and y differ in number");
  if (!weights.empty() && weights.size() != n)
    return Status(Errc::invalid_argument, "one weight a row is needed");
  if (n < p + 1)
    return Status(Errc::invalid_argument, "too few cells: " + std::to_string(n) + " for " +
                                              std::to_string(p) + " parameters (at least " +
                                              std::to_string(p + 1) +
                                              " are needed for an interval)");
  for (std::size_t i = 0; i < n; ++i) {
    if (x[i].size() != p) return Status(Errc::invalid_argument, "a row of X has the wrong width");
    if (!std::isfinite(y[i])) return Status(Errc::invalid_argument, "a non-finite observation");
    for (double v : x[i]) {
      if (!std::isfinite(v)) return Status(Errc::invalid_argument, "a non-finite term value");
    }
    if (!weights.empty() && !(weights[i] > 0 && std::isfinite(weights[i])))
      return Status(Errc::invalid_argument, "a weight that is not positive and finite");
  }
  // A = diag(√w)·X with its columns scaled to unit norm, z = diag(√w)·y.
  std::vector<std::vector<double>> a(n, std::vector<double>(p));
  std::vector<double> z(n), scale(p, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    const double sw = weights.empty() ? 1.0 : std::sqrt(weights[i]);
    z[i] = sw * y[i];
    for (std::size_t j = 0; j < p; ++j) a[i][j] = sw * x[i][j];
  }
  for (std::size_t j = 0; j < p; ++j) {
    for (std::size_t i = 0; i < n; ++i) scale[j] += a[i][j] * a[i][j];
    scale[j] = std::sqrt(scale[j]);
    if (scale[j] == 0)
      return Status(Errc::invalid_argument,
                    "the cells do not determine " + terms[j].name + " (its column is zero)");
    for (std::size_t i = 0; i < n; ++i) a[i][j] /= scale[j];
  }
  // Householder QR in place: R in the upper triangle of a, Qᵀz in z.
  for (std::size_t k = 0; k < p; ++k) {
    double norm = 0;
    for (std::size_t i = k; i < n; ++i) norm += a[i][k] * a[i][k];
    norm = std::sqrt(norm);
    // Relative to the unit-norm column: below this, column k is (numerically) a combination of
    // the columns before it.
    if (norm < 1e-9)
      return Status(Errc::invalid_argument,
                    "the cells do not determine " + terms[k].name +
                        " apart from the other terms (e.g. every cell has the same calls or "
                        "payload)");
    const double alpha = a[k][k] > 0 ? -norm : norm;
    std::vector<double> v(n, 0.0);
    v[k] = a[k][k] - alpha;
    for (std::size_t i = k + 1; i < n; ++i) v[i] = a[i][k];
    double vv = 0;
    for (std::size_t i = k; i < n; ++i) vv += v[i] * v[i];
    if (vv > 0) {
      for (std::size_t j = k; j < p; ++j) {
        double d = 0;
        for (std::size_t i = k; i < n; ++i) d += v[i] * a[i][j];
        const double f = 2 * d / vv;
        for (std::size_t i = k; i < n; ++i) a[i][j] -= f * v[i];
      }
      double d = 0;
      for (std::size_t i = k; i < n; ++i) d += v[i] * z[i];
      const double f = 2 * d / vv;
      for (std::size_t i = k; i < n; ++i) z[i] -= f * v[i];
    }
  }
  // Back substitution R·γ = (Qᵀz)[0..p), and R⁻¹ for the covariance.
  std::vector<double> gamma(p);
  for (std::size_t k = p; k-- > 0;) {
    double s = z[k];
    for (std::size_t j = k + 1; j < p; ++j) s -= a[k][j] * gamma[j];
    gamma[k] = s / a[k][k];
  }
  std::vector<std::vector<double>> rinv(p, std::vector<double>(p, 0.0));
  for (std::size_t j = 0; j < p; ++j) {
    rinv[j][j] = 1 / a[j][j];
    for (std::size_t i = j; i-- > 0;) {
      double s = 0;
      for (std::size_t k = i + 1; k <= j; ++k) s += a[i][k] * rinv[k][j];
      rinv[i][j] = -s / a[i][i];
    }
  }
  LinearFit fit;
  fit.n = static_cast<int>(n);
  fit.dof = static_cast<int>(n - p);
  fit.t95 = studentT95(fit.dof);
  std::vector<double> beta(p);
  for (std::size_t j = 0; j < p; ++j) beta[j] = gamma[j] / scale[j];
  double wrss = 0, rss = 0, mean = 0, tss = 0;
  for (double v : y) mean += v;
  mean /= double(n);
  for (std::size_t i = 0; i < n; ++i) {
    double yhat = 0;
    for (std::size_t j = 0; j < p; ++j) yhat += x[i][j] * beta[j];
    const double r = y[i] - yhat;
    rss += r * r;
    wrss += (weights.empty() ? 1.0 : weights[i]) * r * r;
    tss += (y[i] - mean) * (y[i] - mean);
  }
  const double s2 = wrss / fit.dof;
  fit.sigma = std::sqrt(s2);
  fit.r2 = tss > 0 ? 1 - rss / tss : (rss == 0 ? 1.0 : 0.0);
  fit.cov.assign(p, std::vector<double>(p, 0.0));
  for (std::size_t j = 0; j < p; ++j) {
    for (std::size_t k = 0; k < p; ++k) {
      double s = 0;  // (R⁻¹R⁻ᵀ)_jk
      for (std::size_t m = std::max(j, k); m < p; ++m) s += rinv[j][m] * rinv[k][m];
      fit.cov[j][k] = s2 * s / (scale[j] * scale[k]);
    }
  }
  for (std::size_t j = 0; j < p; ++j) {
    Param pr{terms[j].name, terms[j].unit, beta[j], std::sqrt(std::max(fit.cov[j][j], 0.0))};
    pr.ci_low = pr.value - fit.t95 * pr.se;
    pr.ci_high = pr.value + fit.t95 * pr.se;
    fit.params.push_back(pr);
  }
  return fit;
}

}  // namespace seams::bench::model
