# flexmix side of the peer comparison: a softmax-gated mixture of K linear experts with
# learned variances (FLXMRglm gaussian + concomitant FLXPmultinom, no intercepts, minprior 0)
# by EM, started from the posterior moem's start gives (RESP.csv).
# usage: Rscript flexmix.R DATA.csv K ITERS RESP.csv
# prints "flexmix em iters=T sec_per_iter=S cpu_per_iter=U objective=L" (wall and CPU seconds),
# L = -logLik / N (moem's objective).
suppressPackageStartupMessages(library(flexmix))
a <- commandArgs(trailingOnly = TRUE)
if (length(a) != 4) stop("usage: Rscript flexmix.R DATA.csv K ITERS RESP.csv")
D <- read.csv(a[1])
K <- as.integer(a[2])
iters <- as.integer(a[3])
R0 <- as.matrix(read.csv(a[4], header = FALSE))
xs <- setdiff(names(D), "y")
f <- as.formula(paste("y ~ 0 +", paste(xs, collapse = " + ")))
fc <- as.formula(paste("~ 0 +", paste(xs, collapse = " + ")))

cpu <- function(p) p[["user.self"]] + p[["sys.self"]]
run <- function(T) {
  p0 <- proc.time()
  m <- flexmix(f, data = D, k = K, cluster = R0, model = FLXMRglm(family = "gaussian"),
               concomitant = FLXPmultinom(fc),
               control = list(iter.max = T, minprior = 0, tolerance = 0, verbose = 0))
  p1 <- proc.time()
  list(m = m, t = p1[["elapsed"]] - p0[["elapsed"]], c = cpu(p1) - cpu(p0))
}
# per-iteration time without the set-up: (time(T) - time(2)) / (T - 2), best of 3
best <- Inf
bestc <- Inf
for (rep in 1:3) {
  r2 <- run(2)
  rT <- run(iters)
  best <- min(best, (rT$t - r2$t) / (rT$m@iter - r2$m@iter))
  bestc <- min(bestc, (rT$c - r2$c) / (rT$m@iter - r2$m@iter))
}
cat(sprintf("flexmix em iters=%d sec_per_iter=%.6g cpu_per_iter=%.6g objective=%.10g\n",
            rT$m@iter, best, bestc, -as.numeric(logLik(rT$m)) / nrow(D)))
