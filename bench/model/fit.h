// Least squares with 95% intervals: the numerics under the boundary-cost model (model.h).
//
// y ≈ X·β fitted by (optionally weighted) least squares through a Householder QR of the design,
// its columns scaled first, so a column of calls (1..16) and one of calls × bytes (up to 10^7)
// meet on equal terms. The parameters' intervals are Student t intervals from the estimated
// covariance s²·(XᵀWX)⁻¹ at n − p degrees of freedom (Boost.Math's quantile).
#pragma once

#include <string>
#include <vector>

#include "core/common/status.h"

namespace seams::bench::model {

// One column of the design: what its coefficient is called and its unit (for reports).
struct Term {
  std::string name;
  std::string unit;
};

struct Param {
  std::string name;
  std::string unit;
  double value = 0;
  double se = 0;                   // standard error
  double ci_low = 0, ci_high = 0;  // 95%
  // True when the 95% interval does not contain zero.
  bool significant() const { return ci_low > 0 || ci_high < 0; }
};

struct LinearFit {
  std::vector<Param> params;
  std::vector<std::vector<double>> cov;  // p × p covariance of the estimates
  int n = 0;                             // observations
  int dof = 0;                           // n − p
  double t95 = 0;                        // Student t quantile 0.975 at dof
  double sigma = 0;                      // residual standard error (weighted scale)
  double r2 = 0;  // 1 − Σ(y − ŷ)² / Σ(y − ȳ)², unweighted, so comparable across weightings

  // x·β. REQUIRES: x.size() == params.size().
  double predict(const std::vector<double>& x) const;
  // The standard error of the mean prediction at x: sqrt(xᵀ·cov·x).
  double predictSe(const std::vector<double>& x) const;
};

// Fits y ≈ X·β. `weights` empty means ordinary least squares; otherwise one positive weight a row
// (weighted least squares, the residual variance of row i taken as σ²/w_i).
// Refused (invalid_argument, saying why): ragged or empty input, fewer than p + 1 rows, a
// non-finite value, a non-positive weight, or a design whose columns do not determine every
// parameter (a zero column, or one a combination of others: "calls" and an intercept when all
// cells share one K).
Result<LinearFit> leastSquares(const std::vector<std::vector<double>>& x,
                               const std::vector<double>& y, const std::vector<Term>& terms,
                               const std::vector<double>& weights = {});

// Student t quantile 0.975 at `dof` degrees of freedom (REQUIRES: dof >= 1).
double studentT95(int dof);

}  // namespace seams::bench::model
