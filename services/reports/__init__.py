"""Statistics a federation files: the annual report (年度工资集体协商工作统计), its exports and drill-downs."""
