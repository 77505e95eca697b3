package dev.zeroq.report;

import dev.zeroq.pipeline.ZeroQ;
import dev.zeroq.quant.ParetoPoint;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.BasicStroke;
import java.awt.Color;
import java.nio.file.Path;
import java.util.List;

/** PNG plots for the quantization report: the Pareto frontier and per-layer sensitivity. */
public final class Charts {
    static {
        // Charts render off-screen; never try to open a display.
        System.setProperty("java.awt.headless", "true");
    }

    private Charts() {}

    /** Size (MB) against total sensitivity for every frontier point, the chosen point marked. */
    public static void paretoFrontier(List<ParetoPoint> frontier, ParetoPoint chosen, long totalParams, Path png) {
        XYSeries all = new XYSeries("Pareto frontier");
        for (ParetoPoint p : frontier) {
            all.add(p.sizeBits() / 8e6, p.sensitivity());
        }
        XYSeries pick = new XYSeries("chosen (" + String.format("%.2f", chosen.averageBits(totalParams)) + " bits avg)");
        pick.add(chosen.sizeBits() / 8e6, chosen.sensitivity());
        XYSeriesCollection data = new XYSeriesCollection();
        data.addSeries(all);
        data.addSeries(pick);
        JFreeChart chart = ChartFactory.createXYLineChart("Mixed precision: size vs total sensitivity",
                "weight size (MB)", "Σ Ω (KL)", data, PlotOrientation.VERTICAL, true, false, false);
        XYPlot plot = chart.getXYPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, true);
        r.setSeriesPaint(0, new Color(0x1f77b4));
        r.setSeriesStroke(0, new BasicStroke(1.5f));
        r.setSeriesLinesVisible(1, false);
        r.setSeriesPaint(1, new Color(0xd62728));
        r.setSeriesShape(1, new java.awt.geom.Ellipse2D.Double(-6, -6, 12, 12));
        plot.setRenderer(r);
        save(chart, png, 900, 560);
    }

    /** Ω_i(k) per layer as grouped bars, one group per layer, one bar per bit width (log scale is not used: Ω can be 0). */
    public static void sensitivity(ZeroQ.SensitivityTable t, Path png) {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        for (int i = 0; i < t.layers().size(); i++) {
            for (int j = 0; j < t.bits().length; j++) {
                data.addValue(t.omega()[i][j], t.bits()[j] + " bits", shortName(t.layers().get(i), i));
            }
        }
        JFreeChart chart = ChartFactory.createBarChart("Per-layer sensitivity Ω_i(k)", "layer", "KL divergence",
                data, PlotOrientation.VERTICAL, true, false, false);
        chart.getCategoryPlot().setBackgroundPaint(Color.WHITE);
        chart.getCategoryPlot().getDomainAxis().setCategoryLabelPositions(
                org.jfree.chart.axis.CategoryLabelPositions.UP_90);
        save(chart, png, Math.max(900, 28 * t.layers().size() * t.bits().length), 600);
    }

    private static String shortName(String layer, int i) {
        String s = layer.length() > 24 ? "…" + layer.substring(layer.length() - 23) : layer;
        return i + ":" + s;
    }

    private static void save(JFreeChart chart, Path png, int w, int h) {
        Reports.atomicWrite(png, tmp -> ChartUtils.saveChartAsPNG(tmp.toFile(), chart, w, h));
    }
}
