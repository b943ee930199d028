export interface Metric { suite: string; metric: string; value: number; unit: string }
