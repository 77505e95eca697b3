package dev.zeroq.distill;

/**
 * Adam (Kingma & Ba) on one flat parameter array, as torch.optim.Adam with default betas (0.9, 0.999),
 * eps 1e-8, no weight decay: bias-corrected moments, eps added after the square root.
 */
final class Adam {
    private static final double BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8;
    private final float[] m;
    private final float[] v;
    private int t;

    Adam(int size) {
        m = new float[size];
        v = new float[size];
    }

    void step(float[] param, float[] grad, double lr) {
        t++;
        double c1 = 1 - Math.pow(BETA1, t);
        double c2 = 1 - Math.pow(BETA2, t);
        double stepSize = lr / c1;
        double sqrtC2 = Math.sqrt(c2);
        for (int i = 0; i < param.length; i++) {
            float g = grad[i];
            m[i] = (float) (BETA1 * m[i] + (1 - BETA1) * g);
            v[i] = (float) (BETA2 * v[i] + (1 - BETA2) * g * g);
            double denom = Math.sqrt(v[i]) / sqrtC2 + EPS;
            param[i] -= (float) (stepSize * m[i] / denom);
        }
    }
}
