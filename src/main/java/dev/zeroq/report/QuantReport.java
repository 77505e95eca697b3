package dev.zeroq.report;

import dev.zeroq.pipeline.ZeroQ;
import dev.zeroq.quant.ParetoPoint;
import dev.zeroq.quant.QuantPlan;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The folder a user opens after {@code zeroq quantize --report DIR}: the distilled images, the Pareto
 * frontier with the chosen point, per-layer sensitivity, and a short Markdown summary linking them.
 */
public final class QuantReport {
    private QuantReport() {}

    /**
     * @param accuracy optional lines for the summary's accuracy table (label → top-1 in [0,1]); may be empty
     * @return the files written
     */
    public static List<Path> write(Path dir, String modelName, ZeroQ.Outcome o, Map<String, Double> accuracy) {
        List<Path> written = new ArrayList<>();
        QuantPlan p = o.plan();
        StringBuilder md = new StringBuilder();
        md.append("# zeroq quantization report: ").append(modelName).append("\n\n");
        md.append("| setting | value |\n|---|---|\n");
        md.append("| scheme | ").append(p.scheme().name().toLowerCase()).append(" |\n");
        md.append("| weights / activations | ").append(p.mixedPrecision() != null ? "mixed" : "W" + p.weightBits())
                .append(" / A").append(p.activationBits()).append(" |\n");
        md.append("| clipping | ").append(p.clip().cliName()).append(" |\n");
        md.append("| calibration | ").append(p.calibration().name().toLowerCase()).append(" |\n");
        md.append("| seed | ").append(p.seed()).append(" |\n");
        md.append("| model SHA-256 | `").append(p.model().sha256()).append("` |\n\n");
        md.append("| stage | seconds |\n|---|---|\n");
        for (Map.Entry<String, Double> e : o.seconds().entrySet()) {
            md.append("| ").append(e.getKey()).append(" | ").append(String.format("%.2f", e.getValue())).append(" |\n");
        }
        if (!accuracy.isEmpty()) {
            md.append("\n| model | top-1 |\n|---|---|\n");
            accuracy.forEach((k, v) -> md.append("| ").append(k).append(" | ").append(String.format("%.2f %%", 100 * v)).append(" |\n"));
        }
        if (o.distill() != null) {
            Path grid = dir.resolve("distilled.png");
            ImageGrid.write(o.distill().images(), grid);
            written.add(grid);
            double[] c = o.distill().lossCurves()[0];
            md.append("\n## Distilled images\n\nLoss ").append(String.format("%.4g → %.4g", c[0], c[c.length - 1]))
                    .append(" over ").append(c.length).append(" iterations.\n\n![distilled images](distilled.png)\n");
        }
        if (o.sensitivity() != null && o.frontier() != null) {
            Path sens = dir.resolve("sensitivity.png");
            Charts.sensitivity(o.sensitivity(), sens);
            written.add(sens);
            long total = 0;
            for (long n : o.sensitivity().parameters()) total += n;
            ParetoPoint chosen = o.frontier().choose(p.mixedPrecision().targetSizeBits());
            Path pareto = dir.resolve("pareto.png");
            Charts.paretoFrontier(o.frontier().points(), chosen, total, pareto);
            written.add(pareto);
            md.append("\n## Mixed precision\n\nTarget ").append(String.format("%.4f MB", p.mixedPrecision().targetSizeBits() / 8e6))
                    .append(", chosen ").append(String.format("%.4f MB (%.2f bits per weight on average)", chosen.sizeBits() / 8e6,
                            chosen.averageBits(total)))
                    .append(", ").append(o.frontier().points().size()).append(" points on the frontier.\n\n")
                    .append("![Pareto frontier](pareto.png)\n\n![sensitivity](sensitivity.png)\n\n")
                    .append("| layer | params | bits |\n|---|---|---|\n");
            for (int i = 0; i < o.sensitivity().layers().size(); i++) {
                md.append("| ").append(o.sensitivity().layers().get(i)).append(" | ").append(o.sensitivity().parameters()[i])
                        .append(" | ").append(chosen.bits()[i]).append(" |\n");
            }
        }
        Path summary = dir.resolve("summary.md");
        Reports.atomicWrite(summary, tmp -> Files.writeString(tmp, md));
        written.add(summary);
        return written;
    }
}
