"""test_shipped_rules.py — what the shipped rules (share/rules.txt) vote on cells the
labeling guide decides, one cell per notebook so that no context LF votes.

The votes are checked, not the label model's stage: a label model fitted on a few
dozen cells says little, and the votes are what a rule change changes.  Each case
names the guide's rule that decides it.  The cases after "2026-12-01" were errors of
the shipped rules on cells of repositories the development labels do not draw from
(tests/labels/README.md): each failed before the rule change that fixed it."""
import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("NBSTAGE_BIN", ROOT)) / "nbstage"
ENV = dict(os.environ, NBSTAGE_RULES=str(ROOT / "share" / "rules.txt"))

CASES = [
    # (guide rule, expected stage or "-stage" for "not that stage", source)
    ("2: read + head() is load", "load", "df = pd.read_csv('train.csv')\ndf.head()"),
    ("2: read + X/y is prep", "prep", "df = pd.read_csv('t.csv')\nX = df.drop('y', axis=1)\ny = df['y']"),
    ("2: fit + predict is evaluate", "evaluate", "model.fit(X, y)\npred = model.predict(X_test)"),
    ("imports only", "imports", "import numpy as np\nimport pandas as pd\n%matplotlib inline"),
    # 2026-12-01
    ("2: read + describe() at the end is load", "load",
     "import pandas as pd\nlocations = pd.read_csv('locations.csv')\nlocations.describe()"),
    ("2: a summary table kept and shown is explore", "explore",
     "genre_avg = (df.groupby('Genre')['Rating']\n               .mean().round(2)\n"
     "               .sort_values(ascending=False)\n               .reset_index())\n"
     "print('Genre-wise average rating:')\ngenre_avg"),
    ("2: a correlation with the target, shown, is explore", "explore",
     "corr = df[cols + ['Class']].corr()['Class'].drop('Class').sort_values()\ncorr.tail(10)"),
    ("3: a TransformerMixin of one's own is prep", "prep",
     "class AdultExtractor(BaseEstimator, TransformerMixin):\n    def fit(self, X, y=None):\n"
     "        return self\n    def transform(self, X):\n"
     "        X['Adult'] = X['Age'].apply(lambda a: a >= 18)\n        return X[['Adult']]"),
    ("3: an nn.Module is train, whatever forward() names its output", "train",
     "class LogisticRegressionModel(torch.nn.Module):\n    def __init__(self):\n"
     "        super().__init__()\n        self.linear = torch.nn.Linear(1, 1)\n"
     "    def forward(self, x):\n        y_pred = torch.sigmoid(self.linear(x))\n        return y_pred"),
    ("3: a feature function that fills a frame named result is prep", "prep",
     "def preprocessing(data):\n    result = pd.DataFrame()\n"
     "    result['Age'] = data['Age'].fillna(0)\n    return result"),
    ("4: a plot of losses collected by hand is evaluate", "evaluate",
     "plt.plot(range(1, len(losses) + 1), losses)\nplt.xlabel('epoch')\nplt.show()"),
    ("4: a plot of the submission's predictions is evaluate", "evaluate",
     "sns.histplot(submission['target'], bins=30)\nplt.show()"),
    ("6: cluster labels kept as features are prep", "prep",
     "df['pickup_cluster'] = kmeans.predict(df[['lat', 'lon']])"),
    ("7: detectron2's predictor is set up to predict", "evaluate",
     "cfg.MODEL.WEIGHTS = 'model_best.pth'\npredictor = DefaultPredictor(cfg)"),
    ("8: numbers written into the cell are load", "load", "x_data = [1.0, 2.0, 3.0]\ny_data = [2.0, 4.0, 6.0]"),
    ("8: the device choice, shown, is imports", "imports",
     "import torch\ndevice = 'cuda' if torch.cuda.is_available() else 'cpu'\ndevice"),
    ("8: seaborn's style under another alias is set-up", "imports",
     "import seaborn as sb\nimport pandas as pd\nsb.set_style('white')"),
    ("load: seaborn's example datasets are data, not plots", "load", "df = sns.load_dataset('iris')"),
    ("load: a price download", "load", "df = yf.download('SISE.IS', start, end)\ndf.tail(10)"),
    ("9: an aggregate query shown is explore", "explore",
     "books = ('''\nSELECT COUNT(book_id), COUNT(DISTINCT title)\nFROM books\n''')\nget_sql_data(books)"),
    ("prep: missing values replaced", "prep", "mail = raw_mail.where((pd.notnull(raw_mail)), '')"),
    ("prep: undersampling a class", "prep", "new_legit = legit.sample(n=492)\nnew_legit.shape"),
    ("prep: pixels scaled after loading", "prep",
     "(x_train, y_train), (x_test, y_test) = datasets.cifar10.load_data()\n"
     "x_train, x_test = x_train / 255.0, x_test / 255.0"),
    ("train: weights made by hand", "train", "w = torch.tensor([1.0], dtype=torch.float32, requires_grad=True)"),
    ("evaluate: a score shown", "evaluate", "print('Accuracy on training data : ', training_data_accuracy)"),
    ("evaluate: an accuracy counted by hand", "evaluate",
     "accuracy = 100 * correct / total\nprint(f'accuracy = {accuracy:.2f}')"),
    # later the same day, from more notebooks (tests/labels/README.md)
    ("2: a conversion only shown changes nothing: no prep vote", "-prep",
     "queries[queries['product_title'].str.contains('beechmont')]"),
    ("2: a join only shown changes nothing: no prep vote", "-prep", "idx_test.join(queries)"),
    ("2: a resample to feed a plot is explore", "explore", "time_ser.resample('M').sum().plot()"),
    ("2: a group-by table only shown is explore", "explore",
     "dtype_df.groupby('Column Type').aggregate('count').reset_index()"),
    ("2: read + X taken from it is prep", "prep",
     "dataset = pd.read_csv('Mall_Customers.csv')\nX = dataset.iloc[:, [3, 4]].values"),
    ("3: a decision-boundary plot helper is evaluate", "evaluate",
     "def plot_decision_boundary(coef, intercept, x):\n    y = coef * x + intercept\n    plt.plot(x, y)"),
    ("4: a decision-boundary plot is evaluate", "evaluate", "plot_decision_regions(X, y, clf=svc)\nplt.show()"),
    ("4: a confusion matrix under another name, drawn, is evaluate", "evaluate",
     "sns.heatmap(confusion_mtx, annot=True, fmt='g')"),
    ("4: a plot of a predictions column is evaluate", "evaluate",
     "plt.scatter(calibration_data['predictions'], calibration_data['targets'])"),
    ("6: a scaler fitted is prep", "prep",
     "scaler = StandardScaler().fit(X_train1)\nX_train1 = scaler.transform(X_train1)"),
    ("6: model-based feature selection is prep", "prep",
     "model = SelectFromModel(clf, prefit=True)\ntrain_reduced = model.transform(X_train)"),
    ("8: a Python version check is set-up", "imports", "import sys\nassert sys.version_info >= (3, 5)"),
    ("8: an import guarded by the Python version", "imports",
     "import sys\nif sys.version_info.major == 2:\n    from urllib import urlopen\n"
     "elif sys.version_info.major == 3:\n    from urllib.request import urlopen\nfrom sklearn import datasets"),
    ("8: TF 1's logging quietened", "imports",
     "import tensorflow as tf\ntf.logging.set_verbosity(tf.logging.ERROR)\nimport warnings\nwarnings.filterwarnings('ignore')"),
    ("8: TF 1's session made for the GPU", "imports",
     "config = tf.ConfigProto()\nconfig.gpu_options.allow_growth = True\nsess = tf.Session(config=config)"),
    ("8: a seeding helper and a library's seeding", "imports",
     "def seed_everything(seed=42):\n    pl.seed_everything(seed, workers=True)\n    np.random.seed(seed)\n"
     "seed_everything(42)"),
    ("8: the replicas printed, a banner, a random generator named", "imports",
     "import numpy\nrng = numpy.random\nprint('=' * 80)\nREPLICAS = strategy.num_replicas_in_sync\n"
     "print(f'REPLICAS: {REPLICAS}')"),
    ("8: warnings silenced by an imported name, a plot style kept", "imports",
     "import pandas as pd\nfrom warnings import simplefilter\nsimplefilter('ignore')\nplt.rc('figure', autolayout=True)\n"
     "plot_params = dict(color='0.75', style='.-', legend=False)"),
    ("8: a seed set by assignment is set-up", "imports",
     "import random\nimport seaborn as sns\nrandom.seed = 42\nimport warnings\nwarnings.filterwarnings('ignore')"),
    ("8: an exercise checker's set-up is set-up", "imports",
     "from learntools.core import binder\nbinder.bind(globals())\nfrom learntools.game_ai.ex4 import *"),
    ("train: Bayesian sampling is the fit", "train",
     "with basic_model:\n    start = pm.find_MAP()\n    trace = pm.sample(2000, start=start)"),
    ("train: a model saved under another name", "train", "cnn_model.save('cnn_digits.keras')"),
    ("evaluate: a topic model's coherence", "evaluate",
     "cm = CoherenceModel(model=lda, texts=texts, dictionary=d, coherence='c_v')\nprint(cm.get_coherence())"),
    # a third round (tests/labels, draw 6)
    ("load: plt.imread reads an image, it draws nothing", "load",
     "filepath = os.path.join(IMG_DIR, '33.jpg')\nimg = plt.imread(filepath)"),
    ("load: a quandl download", "load", "stock2 = quandl.get('BSE/CPSE')"),
    ("2: a hand loop of cross-validated candidates is tuning, train", "train",
     "knn_scores = []\nfor i in range(1, 21):\n    knn = KNeighborsClassifier(n_neighbors=i)\n"
     "    s = cross_val_score(knn, X, y, cv=10)\n    knn_scores.append(s.mean())"),
    ("2: a hand loop that fits a model per candidate value and scores it is tuning, train", "train",
     "accs = []\nfor depth in depth_list:\n    tree = DecisionTreeClassifier(max_depth=depth)\n"
     "    tree.fit(X_train, y_train)\n    accs.append(accuracy_score(y_val, tree.predict(X_val)))"),
    ("2: a loop that fits and scores models side by side is evaluate", "evaluate",
     "for name, model in models:\n    model.fit(X_train, y_train)\n"
     "    print(name, accuracy_score(y_val, model.predict(X_val)))"),
    ("6: a topic model fitted as the analysis is train", "train",
     "Lda = gensim.models.ldamodel.LdaModel\nldamodel = Lda(dtm, num_topics=3, id2word=dictionary, passes=50)"),
    ("4: a topic model's topics shown are evaluate", "evaluate", "print(ldamodel.print_topics(num_topics=3, num_words=3))"),
    ("train: pycaret's ensemble_model", "train", "bagged_dt = ensemble_model(dt)"),
    ("train: a model pickled to a model file", "train", "import pickle\npickle.dump(regression, open('model.pkl', 'wb'))"),
    ("evaluate: a table of models' scores", "evaluate",
     "results = pd.DataFrame({\n    'Method': ['Baseline', 'RFE'],\n    'Accuracy': [baseline_score, rfe_score]\n})\n"
     "display(results)"),
    ("4: a plot of compared metrics is evaluate", "evaluate",
     "compare_metrics = pd.DataFrame({'baseline': baseline_metrics, 'grid search': gs_metrics})\n"
     "compare_metrics.plot.bar(figsize=(10, 8))"),
    # a fourth round (tests/labels, draw 8)
    ("evaluate: a bare score shown", "evaluate", "scores = cross_val_score(model, X, y, cv=5)\nscores"),
    ("3: an estimator class of one's own is train", "train",
     "class KDEClassifier(BaseEstimator, ClassifierMixin):\n    def fit(self, X, y):\n        return self\n"
     "    def predict(self, X):\n        return X\n    def score(self, X, y):\n        return 1.0"),
    ("3: a Keras callback class is train", "train",
     "class myCallback(tf.keras.callbacks.Callback):\n    def on_epoch_end(self, epoch, logs={}):\n"
     "        if logs.get('accuracy') > 0.999:\n            self.model.stop_training = True"),
    ("prep: text augmentation", "prep",
     "aug = naw.RandomWordAug(action='delete', aug_p=0.3)\ntest_sentence_aug = aug.augment(test_sentence)\n"
     "print(test_sentence_aug)"),
    ("8: a library version printed by an f-string is set-up", "imports",
     "import cv2\nimport numpy as np\nprint(f\"OpenCV Version: {cv2.__version__}\")"),
    ("load: video frames read with imageio v3", "load",
     "video_frames = iio.imread('imageio:cockatoo.mp4')\nn_frames, height, width, _ = video_frames.shape"),
    ("load: the TensorFlow tutorials' MNIST reader", "load",
     "import input_data\nmnist = input_data.read_data_sets('/tmp/data/', one_hot=True)"),
    ("evaluate: a topic model's coherence, alone in its cell", "evaluate",
     "coherence = CoherenceModel(model=lda, texts=texts, dictionary=d).get_coherence()"),
    # a fifth round (2026-12-01 evening, the tune file's sure cells)
    ("8: imports with a runtime chosen by an environment variable are set-up", "imports",
     "import os\nif 'WITH_MODIN' in os.environ and os.environ['WITH_MODIN'] == 'True':\n"
     "    os.environ['MODIN_ENGINE'] = 'ray'\n    import ray\n    ray.init(num_cpus=2)\n"
     "    import modin.pandas as pd\nelse:\n    import pandas as pd"),
    ("8: a GPU check printed is set-up", "imports",
     "import torch\nif torch.cuda.is_available():\n    device = torch.device('cuda')\n"
     "    print('GPU:', torch.cuda.get_device_name(0))\nelse:\n    print('No GPU')"),
    ("8: a module reloaded among imports is set-up", "imports", "import imp\nimport parser\nimp.reload(parser)"),
    ("train: a gradient step written by hand", "train",
     "for it in range(10000):\n    out = 1 / (1 + exp(-dot(X, weights)))\n"
     "    weights += dot(X.T, (y - out) * out * (1 - out))"),
    ("train: a model of one's own built with its hyper-parameters", "train",
     "mbr = MBGDRegressor(batch_size=32, learning_rate=0.01, epochs=100)"),
    ("6: t-SNE's learning rate does not make it a model", "-train",
     "X_tsne = TSNE(learning_rate=50, perplexity=3).fit_transform(X_pairs)"),
    ("evaluate: a metric printed under its name", "evaluate", "print('Start MSE:', m_1, 'Finish MSE:', m_end[-1])"),
    ("2: a search's best score printed is train", "train",
     "grid_search.fit(X, y)\nprint('Accuracy:', grid_search.best_score_)"),
    ("prep: a column deleted", "prep", "del iris['class']\niris.head()"),
    ("prep: a frame passed through a helper and kept", "prep", "df = add_loosing_matches(df)"),
    ("prep: columns rewritten from themselves", "prep",
     "all_data[cols] = all_data[cols] / all_data[cols].max()"),
    ("load: a file read by a reader of its own is load, not a rewrite", "load",
     "dcm = '../input/a.dcm'\ndcm = dicom.read_file(dcm)"),
    ("2: a group-by summary rebound only to feed a plot is explore", "explore",
     "df = df.groupby('sector')['n'].agg(['count', 'mean'])\nplt.bar(df.index, df['mean'])"),
    ("2: a sample drawn for a plot is explore", "explore",
     "x = df.sample(1000)\nsns.scatterplot(x='age', y='calories', data=x)"),
    ("10: data written to an outputs folder is prep", "prep",
     "kms = pd.DataFrame({'Id': rows['id'].astype(str)})\nkms.to_csv('../outputs_' + day + '/kms.csv')"),
    ("3: TF1's weight variables are train", "train",
     "weights = {\n    'h1': tf.Variable(tf.random_normal([784, 256])),\n"
     "    'out': tf.Variable(tf.random_normal([256, 10]))\n}"),
    ("3: a network called on its weights is not its predictions", "-evaluate",
     "pred = alex_net(x, weights, biases, keep_prob)"),
    ("3: a loss function is train, though it predicts", "train",
     "def loss(x, y):\n    y_pred = forward(x)\n    return (y_pred - y) ** 2"),
    ("3: a derivative written by hand is train", "train",
     "def log_loss_deriv(ytrue, ypred):\n    return -(ytrue / ypred - (1 - ytrue) / (1 - ypred))"),
    ("6: a pipeline that ends in a model is train", "train",
     "pipeline = Pipeline(steps=[('preprocessor', preprocessor),\n"
     "                           ('smote', SMOTE(n_jobs=-1)),\n                           ('model', model)])"),
    ("8: a toy dataset's bunch put into a frame is load", "load",
     "df = pd.DataFrame(wine.data, columns=wine.feature_names)"),
    ("9: a query read into a frame is load", "load",
     "result = duckdb.sql('SELECT product, amount FROM sales').df()\nprint(result.head(5))"),
    ("load: an API read with requests.request", "load",
     "response = requests.request('GET', url, params={'limit': 1000})\nres = json.loads(response.text)"),
    ("8: numbers written into the cell with numpy's array imported by name are load", "load",
     "inputs = array([[0, 0], [0, 1], [1, 0], [1, 1]])\noutputs = array([[0, 1, 1, 1]]).T"),
    ("8: plot settings among imports are set-up, not a plot", "imports",
     "import matplotlib.pyplot as plt\nplt.style.use('ggplot')\nfont = {'family': 'Verdana', 'weight': 'normal'}\n"
     "plt.rc('font', **font)"),
    # 2026-12-01, sixth round (sure cells of the tune file)
    ("6: a column transformer or an augmenting generator fitted is prep", "prep", "trf.fit(X_train)"),
    ("6: ... named as such", "prep",
     "datagen = ImageDataGenerator(rotation_range=20, zoom_range=0.2)\ndatagen.fit(X_train)"),
    ("load: a raster read with rioxarray", "load", "raster = rxr.open_rasterio(path)\nraster"),
    ("load: the rows of a document database's collection", "load",
     "records = client[db][coll].find({}).sort([('timestamp', -1)]).limit(n)\ndf = pd.DataFrame(list(records))\n"
     "print('Records shape:', df.shape)\ndf.head()"),
    ("2: a training helper called on the data is train", "train",
     "print('Training LightGBM...')\nlgb_oof, lgb_test, lgb_score = train_lightgbm(X, y, X_test, n_splits=5)"),
    ("6: ... but a resampler's fit_resample is prep", "prep", "X_res, y_res = sm.fit_resample(X, y)"),
    ("8: imports and a device printed in an f-string are imports", "imports",
     "import torch\nimport numpy as np\ndevice = 'cuda:0' if torch.cuda.is_available() else 'cpu'\n"
     "print(f'Using device: {device}')"),
    ("8: memory freed (whole names deleted, gc.collect) is runtime set-up", "imports",
     "del pandas_df, dask_df\ngc.collect()"),
    ("8: ... but a column deleted is prep", "prep", "del df['Cabin']"),
    ("8: training settings of a search or an agent are train", "train",
     "N_OPTUNA_TRIALS = 75\nN_SPLITS = 10\nTARGET = 'loan_paid_back'"),
    ("8: ... and of Q-learning", "train", "num_episodes = 2000\nalpha = 0.1\ngamma = 1"),
    ("8: a tensor of numbers written in the cell is data", "load",
     "x_data = torch.Tensor([[1.0], [2.0], [3.0]])\ny_data = torch.Tensor([[0], [0], [1]])"),
    ("6: t-SNE only to look at data is explore, plotted here or not", "explore",
     "tsne = TSNE(random_state=0)\nX_tsne = tsne.fit_transform(X_fruits_normalized)"),
    ("6: ... and a PCA to two components", "explore",
     "pca = PCA(n_components=2)\npca_2d_std = pca.fit_transform(X_std)"),
    ("6: ... but PCA to more components is features (prep)", "prep",
     "pca = PCA(n_components=50)\nX_pca = pca.fit_transform(X_scaled)"),
    ("2: a data file's first lines looked at from the shell are explore", "explore",
     "!head -2 /content/RNN-HAR-2D-Pose-database/X_train.txt"),
    ("2: a working copy of a frame kept is prep", "prep", "df1 = df.copy(deep=True)"),
    ("2: ... but read and copied is still load", "load",
     "data = pd.read_csv('../input/train.csv')\nparent_data = data.copy()"),
    ("8: the working folder asked for is set-up", "imports", "import os\nos.getcwd()"),
    ("2: a pipeline that ends in a model named as one is train", "train",
     "pipe_logreg = make_pipeline(column_trans, logreg)"),
    # 2026-12-02, seventh round (sure cells of draw 11, now in the tune file)
    ("2: a read converted in its own line is still load", "load",
     "X_train = np.loadtxt(PATH + 'train.txt')\ny_train = np.loadtxt(PATH + 'train_labels.txt').astype(int)"),
    ("6: a gensim dictionary and bag of words are prep", "prep",
     "from gensim import corpora\ndictionary = corpora.Dictionary(doc_clean)\n"
     "doc_term_matrix = [dictionary.doc2bow(doc) for doc in doc_clean]"),
    ("2: graphlab's create fits a model: train", "train",
     "svm_model = gl.svm_classifier.create(train, target='sponsored', features=features)"),
    ("2: ... but its feature engineering is prep", "prep",
     "hash_encoder = gl.feature_engineering.create(train, FeatureHasher(features=['tfidf']))"),
    ("2: a Bayesian search by skopt is tuning: train", "train",
     "gp_round = dummy_minimize(func=objective, dimensions=space, n_calls=10)"),
    ("9: a Spark query only displayed is explore", "explore",
     "spark.sql(\n    \"\"\"\n    SELECT borough, COUNT(*) FROM crashes GROUP BY borough\n    \"\"\"\n).show()"),
    ("8: hyper-parameters in any case are train", "train",
     "Hidden_size = 100\nBatch_size = 256\nN_layer = 2\nN_epoch = 50"),
    ("8: ... and one setting of a model's parameters changed", "train",
     "last_round = len(cv_results) - 1\nxgb_params['n_estimators'] = last_round + 100"),
    ("10: prepared text written to a file is prep (a name starting with 'sub' is not a submission)", "prep",
     "subjective_text.to_csv(data_dir + 'subjective_text_clean.csv', index=False, header=False)"),
    ("2: data passed through a preparing helper and kept is prep", "prep",
     "training_targets = preprocess_targets(california_housing_dataframe.head(12000))\ntraining_targets.describe()"),
    ("2: a column filled cell by cell is prep", "prep",
     "for x in range(len(addresses)):\n    addresses['Latitude'][x] = coord['Latitude'][x]\naddresses"),
    ("2: a dataset cut into train, validation and test parts is prep", "prep",
     "train = data.take(train_size)\nval = data.skip(train_size).take(val_size)\n"
     "test = data.skip(train_size + val_size).take(test_size)"),
    # 2026-12-02, the eighth round (draw 12, tests/labels/unseen-draw12.tsv)
    ("8: holoviews' extension and output are set-up, not plots: reading the dataset is load", "load",
     "import xarray as xr\nimport geoviews as gv\ngv.extension('matplotlib')\ngv.output(size=150)\n"
     "ens = xr.open_dataset('data/ensemble.nc').load()\nens"),
    ("4: a plotting helper's method (`viz.bar_plot`) draws: explore", "explore",
     "viz.bar_plot(x='country', y='tvtot', color='age')\nviz.bar_plot(x='country', y='rdtot', color='age')"),
    ("prep: renaming a frame's columns is prep, shown or not", "prep",
     "iris.columns = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width', 'class']\niris.head()"),
    ("prep: ... and so is setting its index", "prep", "df_subset.index = index\ndf_subset.head()"),
    ("10: a prepared DMatrix saved is prep", "prep", "dtrain.save_binary('dtrain.buffer')\ndtest.save_binary('dtest.buffer')"),
    ("train: a fitted regressor pickled is train", "train",
     "with open('house_prices.pkl', 'wb') as file:\n    pickle.dump(reg, file)\n    print('saved')"),
    ("6: a fitted preprocessor saved is prep, not a model saved", "prep",
     "preprocessor = ColumnTransformer(transformers=[('num', StandardScaler(), num_cols)])\n"
     "preprocessor.fit(X_train)\nX_train_processed = preprocessor.transform(X_train)\n"
     "joblib.dump(preprocessor, 'data-preprocessor.pkl')"),
    ("7: a prediction helper of the notebook's own called is evaluate", "evaluate",
     "img, label = test_ds[45]\nplt.imshow(img.permute(1, 2, 0))\nprint('Predicted:', predict_image(img, model))"),
    ("evaluate: metrics computed by a helper of one's own", "evaluate",
     "mse, mae = compute_metrics(series_valid, naive_forecast)\nprint(f'mse: {mse:.2f}, mae: {mae:.2f}')"),
    ("4: a fitted model's diagnostic plots are evaluate", "evaluate",
     "fig = plt.figure(figsize=(12, 8))\nfig = sm.graphics.plot_partregress_grid(beef_model, fig=fig)"),
    ("4: ... and so are Prophet's components", "evaluate", "model.plot_components(forecast)\nplt.show()"),
    ("8: a dict of lists written in the cell, made a frame, is load", "load",
     "weather_data = {\n    'day': ['1/1/2017', '1/2/2017'],\n    'temperature': [32, 35]\n}\n"
     "df3 = pd.DataFrame(weather_data)\ndf3"),
    ("4: ... but a table of models' scores typed in is not", "-load",
     "learning_score = {\n    'algorithm': ['Logistic Regression', 'KNN'],\n    'recall': [90.74, 93.33]\n}\n"
     "scores = pd.DataFrame(learning_score)\nscores"),
    ("load: a Keras dataset module kept under a name, then loaded", "load",
     "df = tf.keras.datasets.mnist\n(X_train, y_train), (X_test, y_test) = df.load_data()"),
    ("8: an empty figure sized among the imports is set-up", "imports",
     "import numpy as np\nimport matplotlib.pyplot as plt\nplt.figure(figsize=(12, 6))\nsns.set_style('whitegrid')"),
    ("prep: data kept under a name that says it was prepared", "prep",
     "transformed_train_df = pd.DataFrame(transformed_data_train, columns=all_feature_names)"),
    ("prep: ... scaled by a helper, too", "prep",
     "original_data = pd.DataFrame(ks.usd_goal_real)\nscaled_data = minmax_scaling(original_data, columns=['usd_goal_real'])\n"
     "print(scaled_data.head())"),
    # 2026-12-02, the ninth round (draw 13, tests/labels/unseen-draw13.tsv)
    ("8: a magic that reports the environment is set-up", "imports", "%watermark -v -m -p numpy,pandas -g"),
    ("8: IPython's figsize() among the imports is set-up", "imports",
     "import pandas as pd\nfrom IPython.core.pylabtools import figsize\nfigsize(20, 10)"),
    ("6: an ordinal encoder fitted is prep", "prep",
     "oe = OrdinalEncoder(categories=[['Poor', 'Good'], ['UG', 'PG']])\noe.fit(X_train)"),
    ("8: a dict of a model's parameters and its rounds are train; the time printed shows no data", "train",
     "param = {'max_depth': 5, 'eta': 1, 'objective': 'binary:logistic'}\nnum_round = 300\n\n"
     "print(datetime.datetime.now())"),
    ("8: a learning-rate schedule's numbers are train", "train",
     "head_lr_start = 1e-5\nhead_lr_max = 1e-4\nhead_lr_decay = .8"),
    ("train: a Stan model compiled and sampled", "train",
     "sm = pystan.StanModel(model_code=partial_pooling)\nfit = sm.sampling(data=pool_data, iter=1000, chains=2)"),
    ("explore: a table of the frame's nulls and uniques", "explore",
     "dq = pd.DataFrame(index=df.columns)\ndq['Null_Count'] = df.isnull().sum()\ndq['Uniques'] = df.nunique()\ndq"),
    ("2: columns dropped in place after a heatmap are kept: prep", "prep",
     "corr = X_train.corr()\nsns.heatmap(data=corr, annot=True)\nX_train.drop(columns=['a', 'b'], axis=1, inplace=True)"),
    ("4: a helper that draws the fitted regression line is evaluate", "evaluate",
     "values = estimate_coef(train['x'], train['y'])\nplot_regression_line(train['x'], train['y'], values)"),
    ("6: a clustering fitted as the analysis, its labels taken, is train", "train",
     "model = AgglomerativeClustering(n_clusters=5, linkage='ward')\ny_pred = model.fit_predict(X)"),
    ("prep: a split made by hand with a shuffled index", "prep",
     "indices = np.random.permutation(len(iris_X))\niris_X_train = iris_X[indices[:-10]]\n"
     "iris_X_test = iris_X[indices[-10:]]"),
    ("2: read + X/y under longer names is prep", "prep",
     "df_eval = pd.read_csv('eval.csv')\nX_eval = df_eval[features]\ny_eval = df_eval[target]"),
    ("explore: rows picked and shown", "explore",
     "chipo.loc[(chipo['choice_description'] == '[Diet Coke]') & (chipo['item_name'] == 'Canned Soda')]"),
    # 2026-12-02, the tenth round (draw 14, tests/labels/unseen-draw14.tsv)
    ("prep: lags and rolling statistics kept as features", "prep",
     "y_lag = sales.shift(1)\nmean_7 = y_lag.rolling(7).mean()\nstd_7 = y_lag.rolling(7).std()"),
    ("prep: a series cut into windows by a helper", "prep",
     "dataset = windowed_dataset(x_train, window_size, batch_size, shuffle_buffer_size)"),
    ("prep: a frame appended to another and kept", "prep", "cars = cars1.append(cars2)\ncars"),
    ("prep: missing values filled through a .loc written over several lines", "prep",
     "avg = iris.loc[iris['class'] == 'a', 'w'].mean()\n\niris.loc[(iris['class'] == 'a') &\n"
     "         (iris['w'].isnull()),\n         'w'] = avg"),
    ("2: a sample drawn for a bokeh plot is explore", "explore",
     "samples = df.sample(n=10000)\np = base_plot()\np.circle(x=samples['d'], y=samples['f'])\nshow(p)"),
    ("4: a frame of accuracies plotted is evaluate", "evaluate",
     "df_avg_accuracies = pd.DataFrame(avg_accuracies_per_feature)\n"
     "sns.lineplot(data=df_avg_accuracies, x='n', y='avg_accuracy')"),
    ("3: a perceptron written by hand is train", "train",
     "def perceptron(X, y):\n    weights = np.ones(X.shape[1])\n    for i in range(1000):\n"
     "        j = np.random.randint(0, 100)\n        y_hat = step(np.dot(X[j], weights))\n"
     "        weights = weights + 0.1 * (y[j] - y_hat) * X[j]\n    return weights"),
    ("train: an NLTK classifier's own train()", "train", "classifier_sklearn.train(training_data)"),
    ("prep: rows split into train and test by year", "prep",
     "tesla_train = tesla_stocks[tesla_stocks['Year'] < 2017]\ntesla_test = tesla_stocks[tesla_stocks['Year'] > 2016]"),
    ("8: matplotlib's settings copied and changed are set-up", "imports",
     "import matplotlib\ninline_rc = dict(matplotlib.rcParams)\nmatplotlib.rcParams['axes.labelsize'] = 16"),
    ("6: a target encoder fitted on X is prep, not a training helper", "prep",
     "encoder = MEstimateEncoder(cols=['MSSubClass'], m=3.0)\nencoder.fit(X_encode, y_encode)\n"
     "X_train = encoder.transform(X_pretrain, y_train)"),
    ("6: a label encoder made and fitted in one line is prep", "prep",
     "LE = le().fit(data['year'])\nseries = series.set_index(LE.transform(series['year']))"),
    # 2026-12-02, the eleventh round (draw 15, tests/labels/unseen-draw15.tsv)
    ("4: a Bayesian model's trace plotted is evaluate", "evaluate", "az.plot_trace(trace);"),
    ("10: a submission frame named *_sub written is evaluate", "evaluate",
     "df_sample_sub.to_csv('logreg_seed_starter.csv', index=False)"),
    ("3: a model class of one's own (fit and predict) is train", "train",
     "class MeraRidgeGD:\n    def __init__(self, epochs, learning_rate):\n        self.epochs = epochs\n"
     "    def fit(self, X_train, y_train):\n        self.coef_ = np.ones(X_train.shape[1])\n"
     "    def predict(self, X_test):\n        return np.dot(X_test, self.coef_)"),
    ("3: ... but a transformer class with fit() is not", "-train",
     "class DropColumnTransformer(BaseEstimator, TransformerMixin):\n    def __init__(self, columns=None):\n"
     "        self.columns = columns\n    def fit(self, X, y=None):\n        return self\n"
     "    def transform(self, X):\n        return X.drop(columns=self.columns)"),
    ("train: a gradient step written by hand, whatever its names", "train",
     "def upd():\n    global a_guess, b_guess\n    y_pred = lin(a_guess, b_guess, x)\n    dydb = 2 * (y_pred - y)\n"
     "    dyda = x * dydb\n    a_guess -= lr * dyda.mean()\n    b_guess -= lr * dydb.mean()"),
    ("load: detectron2 datasets registered from annotation files", "load",
     "register_coco_instances('train', {}, anno_folder + 'train.json', data_dir)\ntrain_ds = DatasetCatalog.get('train')"),
    ("2: read + x/y tensors made of the array is prep", "prep",
     "xy = np.loadtxt('diabetes.csv.gz', delimiter=',', dtype=np.float32)\nx_data = torch.from_numpy(xy[:, :-1])\n"
     "y_data = torch.from_numpy(xy[:, [-1]])"),
    ("2: read + train_x/train_y is prep", "prep",
     "df = pd.read_csv('../input/train.csv')\ntrain = df.values\ntrain_y = train[:, 0].astype('int8')\n"
     "train_x = train[:, 1:].astype('float64')"),
    ("8: matplotlib's rc() and rcParams among the imports are set-up", "imports",
     "%matplotlib inline\nimport numpy as np\nfrom matplotlib import pyplot as plt, rcParams, rc\n"
     "rc('animation', html='html5')\nrcParams['figure.figsize'] = 3, 3\nnp.set_printoptions(precision=4)"),
    ("8: a seed helper defined and called is set-up", "imports",
     "def seed_everything(seed):\n    random.seed(seed)\n    np.random.seed(seed)\n\nseed_everything(42)"),
    ("6: a one-hot encoder under another name, fitted, is prep", "prep",
     "pclass_transf = OneHotEncoder(sparse=False)\npclass_transf.fit(df['Pclass'].values.reshape((-1, 1)))\n"
     "pclass = pclass_transf.transform(df['Pclass'].values.reshape((-1, 1)))"),
    ("6: a scaler spelt XScalar, fitted, is prep", "prep",
     "XScalar = StandardScaler()\nXScalar.fit(mercedesBenz)\nscaledXTrain = XScalar.transform(mercedesBenz)"),
    # 2026-12-02, the twelfth round (draw 16, tests/labels/unseen-draw16.tsv)
    ("prep: outliers removed into a clean copy", "prep",
     "z = np.abs(stats.zscore(df[cols]))\noutliers = (z > 3).any(axis=1)\nprint(outliers.sum())\n"
     "df_clean = df[~outliers].copy()"),
    ("3: gradient descent written as w = w + lr * ... is train", "train",
     "def gd(X, y):\n    weights = np.ones(X.shape[1])\n    for i in range(5000):\n"
     "        y_hat = sigmoid(np.dot(X, weights))\n        weights = weights + lr * (np.dot((y - y_hat), X) / X.shape[0])\n"
     "    return weights"),
    ("8: scikit-learn-intelex patched in is set-up", "imports", "from sklearnex import patch_sklearn\npatch_sklearn()"),
    ("train: torch layers listed in a ModuleList", "train",
     "up_stack = nn.ModuleList([Up(320, 512, 4), Up(576, 256, 4)]).to(DEVICE)\n"
     "last_conv = nn.ConvTranspose2d(in_channels=160, out_channels=1, kernel_size=4)"),
    ("explore: a table of null counts built by a helper and shown", "explore",
     "def get_null_counts(df):\n    null_count_df = pd.DataFrame(df.isnull().sum().sort_values(ascending=False).reset_index())\n"
     "    null_count_df.columns = ['column_name', 'null_counts']\n    return null_count_df\n\n"
     "null_ = get_null_counts(df1)\nnull_.style.background_gradient(cmap='YlOrRd')"),
    ("2: a group-by summary reset to feed a plot is explore", "explore",
     "grouped = df.groupby(['locale'])['sales'].sum()\ngrouped = grouped.reset_index()\n"
     "plt.bar(range(len(grouped)), grouped['sales'])\nplt.show()"),
    ("2: a hyperopt objective is tuning: train", "train",
     "def hyperopt_train_test(hpparams):\n    params_est = {'n_estimators': int(hpparams['n_estimators'])}\n"
     "    clf = RandomForestClassifier(**params_est)\n    return cross_val_score(clf, X, y).mean()"),
    # 2026-12-02, the thirteenth round (draw 17, tests/labels/unseen-draw17.tsv)
    ("6: an imputer's strategy= argument is not a TPU strategy", "-imports",
     "mean_imputer = SimpleImputer(strategy='mean')\nmode_imputer = SimpleImputer(strategy='most_frequent')"),
    ("8: pip install without ! is set-up", "imports", "pip install torch==1.2.0"),
    ("8: fugue's notebook set-up", "imports", "from fugue_jupyter import setup\nsetup(run_js=True)"),
    ("prep: a feature-engineering helper's result kept", "prep", "df = feature_engineer(train)\nprint(df.shape)\ndf.head()"),
    ("2: value counts set into a small table to plot are explore", "explore",
     "j_df = pd.DataFrame()\nj_df['yes'] = df[df['deposit'] == 'yes']['education'].value_counts()\n"
     "j_df['no'] = df[df['deposit'] == 'no']['education'].value_counts()\nj_df.plot.bar(title='Education')"),
    ("4: lifetimes' plots of a fitted customer model are evaluate", "evaluate",
     "from lifetimes.plotting import plot_frequency_recency_matrix\nfig = plt.figure(figsize=(12, 8))\n"
     "plot_frequency_recency_matrix(bgf)"),
    ("train: a TF1 graph of placeholders and variables", "train",
     "graph = tf.Graph()\nwith graph.as_default():\n    tf_train_dataset = tf.placeholder(tf.float32, shape=(batch_size, 784))\n"
     "    weights = tf.Variable(tf.truncated_normal([784, 10]))\n    logits = tf.matmul(tf_train_dataset, weights)\n"
     "    train_prediction = tf.nn.softmax(logits)"),
    ("load: a read kept under a prepared-sounding name is still load", "load",
     "resampled_df = pd.read_pickle(data_path + 'hourly_resampled.pkl')\nresampled_df"),
    ("6: a Boruta selector fitted is prep", "prep",
     "feat_selector = BorutaPy(clf, n_estimators='auto', random_state=17)\nfeat_selector.fit(X_with_noise.values, y)"),
    ("explore: a camel-case plotting helper on the data", "explore", "plotImages(x)"),
    ("4: ... and one named for a model's results is evaluate", "evaluate",
     "plotModelResults(lr, X_train_scaled, X_test_scaled, y_train, y_test, plot_intervals=True)"),
    # 2026-12-02, the fourteenth round (draw 19, tests/labels/unseen-draw19.tsv)
    ("9: an aggregate query shown, not kept, is explore", "explore",
     'query = """\nSELECT repo, COUNT(commit) AS n\nFROM commits\nGROUP BY repo\n"""\n\n'
     "github_repos.query_to_pandas_safe(query, max_gb_scanned=10)"),
    ("9: ... kept in a frame it is load", "load",
     'query = """\nSELECT repo, COUNT(commit) AS n\nFROM commits\nGROUP BY repo\n"""\n'
     "counts = github_repos.query_to_pandas_safe(query, max_gb_scanned=10)"),
    ("prep: a column set on a frame named history is not a training history", "prep",
     "history['FRONTEIRA'] = history['id'].isin(fronteira['id']).astype(int)\n"
     "history[['MUN', 'FRONTEIRA']].head(5)"),
    ("5: rows dropped only to count them is explore", "explore",
     "print('Initial size: {}'.format(X.shape))\nprint('After NaN omit size: {}'.format(X.dropna().shape))"),
    ("prep: ... dropped and kept is prep", "prep", "X = X.dropna()\nprint(X.shape)"),
    ("train: a hand-written gradient descent run", "train",
     "W1, b1, W2, b2 = gradient_descent(X_train, Y_train, 0.10, 500)"),
    ("train: a GAN trained on its data loader", "train", "gan.train(img_dl)"),
    ("3: a TF1 graph's variables initialized", "train", "# Initializing the variables\ninit = tf.global_variables_initializer()"),
    ("3: a regression fitted by hand", "train",
     "def linear_regression(X, y):\n    beta = np.matmul(np.matmul(np.linalg.inv(np.matmul(X.T, X)), X.T), y)\n"
     "    return beta"),
    ("3: an optimizer's update rule", "train",
     "def get_momentum_updates(params_and_grads, lr, rho):\n    res = []\n"
     "    for p, g in params_and_grads:\n        up = theano.shared(p.get_value() * 0)\n"
     "        res.append((p, p - lr * up))\n    return res"),
    ("3: a learning-rate schedule", "train",
     "class lr_sched():\n    def __init__(self, decay_epochs=100, total_epochs=200):\n"
     "        self.decay_epochs = decay_epochs\n        self.total_epochs = total_epochs"),
    ("-train: a job scheduler is no learning-rate schedule", "-train", "class Scheduler:\n    def __init__(self, sa_json):\n        self.client = connect(sa_json)"),
    ("3: a helper that unpacks the data's archive is load", "load",
     "def extract(filename):\n    tar = tarfile.open(filename)\n    tar.extractall()\n    tar.close()\n"
     "    return os.listdir(filename[:-7])\n\ntrain_folders = extract(train_filename)"),
    # 2026-12-02, the fifteenth round (draw 20, tests/labels/unseen-draw20.tsv)
    ("2: rows sorted and shown, not kept, is explore (a keyword argument is no assignment)", "explore",
     "table.sort_values('Nota', ascending=False)[['Nome do Candidato', 'Nota']]"
     ".reset_index(drop=True).head(50).tail(10)"),
    ("... sorted and kept is prep", "prep", "table = table.sort_values('Nota').reset_index(drop=True)"),
    ("prep: an encoder fitted in a chain is no model's fit", "prep",
     "sample['SEX'] = preprocessing.LabelEncoder().fit(['Males', 'Females']).transform(sample.loc[:, 'SEX'])"),
    ("prep: patsy's design matrices", "prep",
     'outcome, predictors = dmatrices("riders ~ month + temp", data=sample)\npredictors'),
    ("load: a file read line by line", "load",
     "vector_vix = []\nwith open(path_to_dataset) as f:\n    next(f)\n    for line in f:\n"
     "        fields = line.split(',')\n        vector_vix.append(float(fields[6]))"),
    ("load: data collected by a helper", "load",
     "tweet_collection_df = collect_tweets(keywords, count=5)\ntweet_collection_df"),
    ("evaluate: a metric helper of the notebook's own", "evaluate",
     "get_auc_lr_valid(train_data_features3.toarray(), sentiments)"),
    ("4: a forecast plotted over the validation series", "evaluate",
     "plt.figure(figsize=(10, 6))\nplot_series(time_valid, x_valid)\nplot_series(time_valid, rnn_forecast)"),
    ("6: word vectors trained as features are not the model", "-train",
     "w2v = Word2Vec(train['tokens'], size=150, window=3, min_count=2, sg=1)\n"
     "skip_gram_model.train(train['tokens'], total_examples=len(train['tokens']), epochs=10)"),
    # 2026-12-02, the sixteenth round (draw 21, tests/labels/unseen-draw21.tsv)
    ("imports: a warnings silencer and display options with the imports", "imports",
     "import warnings\ndef ignore_warn(*args, **kwargs):\n    pass\nwarnings.warn = ignore_warn\n"
     "import numpy as np\nimport pandas as pd\npd.set_option('display.float_format', lambda x: '{:.3f}'.format(x))"),
    ("8: a package installed by a bare conda line", "imports", "conda install protobuf"),
    ("3: a forecasting helper that calls the model's predict", "evaluate",
     "def model_forecast(model, series, window_size):\n    ds = tf.data.Dataset.from_tensor_slices(series)\n"
     "    ds = ds.window(window_size, shift=1, drop_remainder=True)\n    ds = ds.batch(32).prefetch(1)\n"
     "    forecast = model.predict(ds)\n    return forecast"),
    ("evaluate: ... and its call", "evaluate",
     "rnn_forecast = model_forecast(model, series[..., np.newaxis], window_size)\n"
     "rnn_forecast = rnn_forecast[split_time - window_size:-1, -1, 0]"),
    ("evaluate: a fitted model's coefficients put in a table", "evaluate",
     "lasso1_coef = pd.DataFrame({'coef': lasso1.coef_, 'coef_abs': np.abs(lasso1.coef_)},\n"
     "                           index=data.columns.drop('quality'))\nlasso1_coef.sort_values(by='coef_abs', ascending=False)"),
    ("-evaluate: a model class of one's own sets its coefficients", "-evaluate",
     "class MyRidge:\n    def __init__(self, alpha=0.1):\n        self.alpha = alpha\n        self.coef_ = None\n"
     "    def fit(self, X, y):\n        self.coef_ = np.linalg.solve(X.T @ X + self.alpha * np.eye(X.shape[1]), X.T @ y)"),
    ("4: an ROC curve drawn from its rates", "evaluate",
     "plt.plot(roc['fpr'], roc['tpr'], 'bo-', label='model')\nplt.ylabel('True Positive Rate')"),
    ("3: a network's layers drawn (Keras) is its definition", "train",
     "generator_g = Generator()\ntf.keras.utils.plot_model(generator_g, show_shapes=True, dpi=64)"),
    ("4: PyCaret's plot of a tuned model's AUC is evaluate", "evaluate", "plot_model(tuned_rf, plot='auc')"),
    ("4: a Bayesian model's posterior drawn (PyMC)", "evaluate",
     "pm.forestplot(trace, var_names=['p_Pfizer', 'p_Moderna'])"),
    ("8: a frame of missing values written in the cell", "load",
     'null_df = pd.DataFrame({"col1": [np.nan, np.nan, 1], "col2": [2, 3, np.nan]})'),
    ("explore: an image shown by a helper of one's own", "explore", "cv_imshow(gray)"),
    ("prep: an imputing helper called", "prep", "# empty means no alley access\ncat_imputation('Alley', 'None')"),
    ("explore: a Yellowbrick visualizer of the features, fitted and shown, trains nothing", "-train",
     "fig, ax = plt.subplots()\nvisualizer = Rank2D(algorithm='pearson')\nvisualizer.fit(X, y)\n"
     "visualizer.transform(X)\nvisualizer.show()"),
    ("evaluate: Yellowbrick's feature importances of a model", "evaluate",
     "fig, ax = plt.subplots()\nviz = FeatureImportances(model)\nviz.fit(X, y)\nviz.show()"),
    # 2026-12-02, the seventeenth round (draw 22, tests/labels/unseen-draw22.tsv)
    ("2: candidate values scored in a comprehension to choose one is tuning", "train",
     "candidate_max_leaf_nodes = [5, 25, 50, 100, 250, 500]\n"
     "scores = {leaf_size: get_mae(leaf_size, train_X, val_X, train_y, val_y) for leaf_size in candidate_max_leaf_nodes}\n"
     "best_tree_size = min(scores, key=scores.get)"),
    ("2: trained and its predictions got is evaluate", "evaluate", "amw.train_model()\n\namw.get_predictions()"),
    ("evaluate: a metric helper's F1 printed", "evaluate", 'print("F1_test: %.5f" % (get_f1(X_test, y_test)))'),
    ("load: a statsmodels dataset", "load", "data = sm.datasets.engel.load_pandas().data\ndata.head(10)"),
    ("load: scipy's sample image", "load", "import cv2\nimport numpy as np\nfrom scipy import misc\ni = misc.ascent()"),
    ("load: a shapefile read by GeoViews", "load",
     "shape_path = '../data/districts.shp'\ndistricts = gv.Shape.from_shapefile(shape_path, crs=crs.PlateCarree())"),
    ("prep: a tokenizer fitted by a helper", "prep",
     "tokenizer = fit_tokenizer(sentences)\nword_index = tokenizer.word_index\n"
     'print(f"Vocabulary contains {len(word_index)} words")'),
    ("8: HoloViews' extension and defaults are set-up", "imports",
     "import holoviews as hv\nfrom holoviews import opts\nhv.extension('bokeh', width=95)\n"
     "opts.defaults(opts.Points(apply_ranges=False))"),
    ("8: a TPU detected or the default strategy taken", "imports",
     "try:\n    tpu = tf.distribute.cluster_resolver.TPUClusterResolver()\nexcept ValueError:\n    tpu = None\n"
     "if tpu:\n    tf.tpu.experimental.initialize_tpu_system(tpu)\n    strategy = tf.distribute.experimental.TPUStrategy(tpu)\n"
     "else:\n    strategy = tf.distribute.get_strategy()\nREPLICAS = strategy.num_replicas_in_sync\n"
     "AUTO = tf.data.experimental.AUTOTUNE"),
    ("4: a fitted model's loss curve drawn", "evaluate", "plt.plot(mlp.loss_curve_)\nplt.title('Loss Curve')"),
    ("4: a loss kept in capitals drawn", "evaluate", "import matplotlib.pyplot as plt\nplt.plot(LOSS)"),
    ("4: a helper that draws a k-NN's decision regions", "evaluate", "plot_fruit_knn(X_train, y_train, 5, 'uniform')"),
    # 2026-12-02, the eighteenth round (draw 23, tests/labels/unseen-draw23.tsv)
    ("7: BigQuery ML evaluating a model", "evaluate",
     "%%bigquery\nSELECT\n  *\nFROM ML.EVALUATE(MODEL `bqml_tutorial.sample_model`, (\n"
     "  SELECT IF(totals.transactions IS NULL, 0, 1) AS label FROM `data.ga_sessions_*`))"),
    ("3: BigQuery ML creating a model", "train",
     "%%bigquery\nCREATE OR REPLACE MODEL `bqml_tutorial.sample_model`\nOPTIONS(model_type='logistic_reg') AS\n"
     "SELECT label, os FROM `data.ga_sessions_*`"),
    ("8: plotly's config file and the imports are set-up", "imports",
     "import gc\nimport numpy as np\nimport plotly\nimport plotly.offline as py\npy.init_notebook_mode(connected=True)\n"
     "plotly.tools.set_config_file(world_readable=True, sharing='public')"),
    ("8: a pretty-printer made with the imports", "imports", "import Algorithmia\nimport pprint\n\npp = pprint.PrettyPrinter(indent=2)"),
    ("4: a booster's evaluation record drawn", "evaluate",
     "errors_by_iter = clf.evals_result()['validation_0']['merror']\nplt.plot(range(1, len(errors_by_iter) + 1), errors_by_iter)"),
    ("2: a model built and assessed by a k-fold helper", "evaluate", "svm_clf = LinearSVC(C=1)\nkfold_assessment(svm_clf)"),
    ("3: a helper of (y_true, y_fit) is a metric", "evaluate",
     "def get_reward(y_true, y_fit):\n    R2 = 1 - np.sum((y_true - y_fit)**2) / np.sum((y_true - np.mean(y_true))**2)\n"
     "    return np.sign(R2) * math.sqrt(abs(R2))"),
    ("prep: pixel values replaced under a mask, kept", "prep", "sample_image[sample_image == -2000] = 0"),
    ("prep: a value set at a position", "prep", "# remove the imputed value\ndf1.iloc[4, -1] = np.NaN\n\ndf1"),
    ("-prep: ... not a loader's own pixels (a loader is load)", "-prep",
     "def load_patient(patient_id):\n    imgs = {}\n    for f in glob.glob(patient_id + '/*.dcm'):\n"
     "        img = dicom.read_file(f).pixel_array\n        img[img == -2000] = 0\n        imgs[f] = img\n    return imgs"),
    ("load: netCDF4's Dataset imported by name", "load", "from netCDF4 import Dataset\ndata = Dataset('gistemp250.nc')"),
    ("load: a web API's JSON made a frame", "load",
     "temp_df = pd.DataFrame(response.json()['results'])[['id', 'title', 'overview']]"),
    ("6: spaCy's document vectors kept as features", "prep",
     "spam = pd.read_csv('../input/nlp-course/spam.csv')\nwith nlp.disable_pipes():\n"
     "    doc_vectors = np.array([nlp(text).vector for text in spam.text])\ndoc_vectors.shape"),
    # 2026-12-02, the nineteenth round (draw 24, tests/labels/unseen-draw24.tsv)
    ("prep: train, validation and test parts cut by position", "prep",
     "valid_fraction = 0.1\nvalid_size = int(len(data) * valid_fraction)\n\ntrain = data[:-2 * valid_size]\n"
     "valid = data[-2 * valid_size:-valid_size]\ntest = data[-valid_size:]"),
    ("prep: ... or by head and tail", "prep",
     "N_TRAINING = 160000\nN_VALIDATION = 100000\ntraining_examples = train_data.head(N_TRAINING)[[my_feature_name]].copy()\n"
     "validation_examples = train_data.tail(N_VALIDATION)[[my_feature_name]].copy()"),
    ("train: a training helper run", "train", "train_mnist()"),
    ("4: a training cost history drawn", "evaluate",
     "plt.title('Cost Function J')\nplt.xlabel('No. of iterations')\nplt.plot(past_costs)\nplt.show()"),
    ("evaluate: Spark's binary classification metrics", "evaluate",
     "from pyspark.mllib.evaluation import BinaryClassificationMetrics as metric\n"
     "scoreAndLabels = sc.parallelize(results_list)\nmetrics = metric(scoreAndLabels)\n"
     "print('The ROC score is : ', metrics.areaUnderROC)"),
    ("prep: an ordered merge", "prep",
     "tx_weather_suff = pd.merge_ordered(austin, houston, on='date', suffixes=['_aus', '_hus'])\nprint(tx_weather_suff)"),
    ("3: a helper that maps a value to its band is prep", "prep",
     "def age_category(age):\n    if age < 30:\n        return 1\n    elif age < 55:\n        return 2\n    else:\n        return 3"),
    ("-prep: ... a plotting helper of a category is not", "-prep",
     "def category_plots(category, data):\n    df = data[data['category'].isin(category)]\n"
     "    fig, axes = plt.subplots()\n    sns.boxplot(x='mrp', y='brand', data=df, ax=axes)"),
    ("2: a grid search over each model compared is tuning", "-evaluate",
     "scores = []\nparams = [logistic_params, gbm_params]\nfor i, each_classifier in enumerate(classifiers):\n"
     "    grid = GridSearchCV(each_classifier, params[i], cv=5)\n    grid.fit(X, y)\n"
     "    scores.append(grid.best_score_)\nmodel_comparison = pd.DataFrame(scores)"),
    # 2026-12-02, the twentieth round (draw 25, tests/labels/unseen-draw25.tsv)
    ("10: a submission written with spaces around the dot", "evaluate",
     "df_cross . to_csv('submission.csv', index=False)\n\ndf_cross"),
    ("explore: a seaborn grid mapped with plots changes no data", "explore",
     "grid = sns.PairGrid(data=df[df['year'] == 2007], vars=['life_exp', 'log_pop'], size=4)\n"
     "grid = grid.map_upper(plt.scatter, color='darkred')\ngrid = grid.map_diag(plt.hist, bins=10)"),
    ("5: train and test rows chosen by a condition through .loc", "prep",
     "train = data.loc[data['date_id'] <= max_train_date].copy()\ntest = data.loc[data['date_id'] > max_train_date].copy()\n"
     "print('train shape:', train.shape)"),
    ("3: a loader of TFRecord files is load, its mapping included", "load",
     "def load_dataset(filenames, labeled=True, ordered=False):\n    dataset = tf.data.TFRecordDataset(filenames)\n"
     "    dataset = dataset.map(read_tfrecord, num_parallel_calls=tf.data.experimental.AUTOTUNE)\n    return dataset"),
    # 2026-12-02, the twenty-first round (draw 26, tests/labels/unseen-draw26.tsv)
    ("4: a search's results drawn, nothing fitted, are model scores plotted", "evaluate",
     "score_l1 = list(pd.Series(gridsearch.cv_results_).mean_test_score[::2])\nplt.figure(figsize=(15, 5))\n"
     "plt.plot(range(len(score_l1)), score_l1, label='l1-regularization')\nplt.show()"),
    ("4: a hyperopt run's trial losses drawn", "evaluate",
     "tpe_results = np.array([[x['result']['loss'], x['misc']['vals']['max_depth'][0]] for x in trials.trials])\n"
     "tpe_results_df = pd.DataFrame(tpe_results, columns=['score', 'max_depth'])\ntpe_results_df.plot(subplots=True)"),
    ("train: spaCy's text classifier trained by hand", "train",
     "optimizer = nlp.begin_training()\nlosses = {}\nfor epoch in range(10):\n    random.shuffle(train_data)\n"
     "    for batch in minibatch(train_data, size=8):\n        for text, labels in batch:\n"
     "            nlp.update([Example.from_dict(nlp.make_doc(text), labels)], sgd=optimizer, losses=losses)\n    print(losses)"),
    ("3: a custom loss of (y_true, y_pred) is the model's objective", "train",
     "def margin_loss(y_true, y_pred):\n    L = y_true * K.square(K.maximum(0., 0.9 - y_pred))\n    return K.mean(K.sum(L, 1))"),
    ("evaluate: a prediction helper given the model", "evaluate",
     "prediction_mdl(mdl2, row_info, X_test, name='Prediction at Test')"),
    ("3: a training function that reads its history is train", "train",
     "def train_mnist_conv():\n    model = tf.keras.models.Sequential([tf.keras.layers.Dense(10)])\n"
     "    model.compile(optimizer='adam', loss='sparse_categorical_crossentropy')\n"
     "    history = model.fit(training_images, training_labels, epochs=20)\n"
     "    return history.epoch, history.history['acc'][-1]"),
    ("train: ... and its call, results unpacked", "train", "_, _ = train_mnist_conv()"),
    # 2026-12-02, the twenty-second round (draw 28, tests/labels/unseen-draw28.tsv)
    ("3: a loader that reads many files and concatenates them is load", "load",
     "def load_all_annotations(base_path):\n    frames = []\n    for f in base_path.glob('train_annotation/*/*.parquet'):\n"
     "        ann_df = pd.read_parquet(f)\n        ann_df['video_id'] = int(f.stem)\n        frames.append(ann_df)\n"
     "    return pd.concat(frames, ignore_index=True)"),
    ("8: an H2O cluster started with the imports", "imports", "import os\n\nimport h2o\n\nh2o.init(nthreads=-1, max_mem_size=8)"),
    ("evaluate: H2O's performance report", "evaluate", "glm_model.model_performance().show()"),
    ("2: an H2O grid search is tuning", "train",
     "gbm_params = {'learn_rate': [0.0001, 0.001, 0.01, 0.1, 1]}\n"
     "gbm_grid = H2OGridSearch(model=H2OGradientBoostingEstimator(ntrees=800), hyper_params=gbm_params)\n"
     "gbm_grid.train(X, y, training_frame=training, validation_frame=validation)\n"
     "gbm_gridperf = gbm_grid.get_grid(sort_by='auc', decreasing=True)\nprint(gbm_gridperf)"),
    ("2: a helper that fits and scores over candidate alphas is a search", "train",
     "def labels_spread_test(kernel, alphas, X_train, X_test, y_train, y_test):\n    roc_scores = []\n"
     "    for alpha in alphas:\n        ls = LabelSpreading(kernel=kernel, alpha=alpha)\n        ls.fit(X_train, y_train)\n"
     "        roc_scores.append(roc_auc_score(y_test, ls.predict_proba(X_test)[:, 1]))\n    plt.plot(alphas, roc_scores)"),
    # 2026-12-02, from the rules' sure errors (data written in the cell, labeled load)
    ("8: numbers written into the cell as arrays are load, not X/y made", "load",
     "train_X = numpy.asarray([3.3, 4.4, 5.5, 6.71])\ntrain_Y = numpy.asarray([1.7, 2.76, 2.09, 3.19])\n"
     "n_samples = train_X.shape[0]"),
    ("8: ... or as frames", "load", "x = pd.DataFrame([2, 5, 11, 8])\ny = pd.DataFrame([15, 20, 24, 18])"),
    ("8: ... or as a matrix and its labels", "load", "X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])\ny = np.array([0, 1, 1, 0])"),
    ("2: an array made from the data is still X made: prep", "prep", "X = np.array(df['a'])\ny = df['b'].values"),
    # 2026-12-02 afternoon, from draw 30's sure errors
    ("explore: pylab's bare calls draw", "explore",
     "figure(figsize=(12, 5))\nsubplot(1, 2, 1)\nscatter(X_tsne[:, 0], X_tsne[:, 1], c=df['t'])\ntitle('TSNE')"),
    ("explore: plotly's bare iplot of a map of the data", "explore",
     "data = [dict(type='choropleth', locations=df.state, z=df['aqi'])]\nfigure = dict(data=data)\niplot(figure)"),
    ("3: a test-time preprocessing helper is prep, not a test", "prep",
     "def resize(image):\n    return tf.image.resize(image, [256, 256])\n\n"
     "def preprocess_image_test(image):\n    image = resize(image)\n    return image"),
    # 2026-12-02 afternoon, from draw 32's sure errors
    ("8: the GPU looked up and checked", "imports",
     "import tensorflow as tf\ndevice_name = tf.test.gpu_device_name()\nif device_name != '/device:GPU:0':\n"
     "    raise SystemError('GPU device not found')\nprint('Found GPU at: {}'.format(device_name))"),
    ("8: Keras's mixed precision and a uv pip line are set-up", "imports",
     "!uv pip install --system timm\nkeras.mixed_precision.set_global_policy('mixed_float16')"),
    ("3: a ResNet block helper is train (its residual is not a model's residuals)", "train",
     "def _shortcut(input, residual):\n    shortcut = Convolution2D(nb_filter=4, nb_row=1, nb_col=1)(input)\n"
     "    return merge([shortcut, residual], mode='sum')"),
    ("3: TF 1's weights made from an initial value are train", "train",
     "def weight_variable(shape):\n    initial = tf.truncated_normal(shape, stddev=0.1)\n    return tf.Variable(initial)"),
    ("TF 1's layer written out is train", "train", "activation = tf.nn.softmax(tf.matmul(x, W) + b)"),
    ("prep: values standardised by hand, in place", "prep",
     "X_mean = X_train.mean(axis=0)\nX_std = X_train.std(axis=0)\nX_train -= X_mean\nX_train /= X_std"),
    # 2026-12-02 evening, draw 39
    ("load: a torch Dataset whose items are read from files", "load",
     "class MonetDataset(Dataset):\n    def __init__(self, root):\n        self.root = root\n"
     "        self.files = os.listdir(root)\n    def __len__(self):\n        return len(self.files)\n"
     "    def __getitem__(self, i):\n        img = Image.open(os.path.join(self.root, self.files[i])).convert('RGB')\n"
     "        return self.transform(img)"),
    ("prep: the same with its augmentations named", "prep",
     "class MonetDataset(Dataset):\n    def __getitem__(self, i):\n        img = cv2.imread(self.paths[i])\n"
     "        return A.HorizontalFlip(p=0.5)(image=img)['image']"),
    ("explore: a series decomposed and tested for stationarity", "explore",
     "sm.tsa.seasonal_decompose(df.price).plot()\nprint(sm.tsa.stattools.adfuller(df.price)[1])"),
    ("train: a model of one's own class", "train", "conv_model = Net()\nconv_model"),
    ("prep: word vectors are features (rule 6)", "-train",
     "w2v_model = Word2Vec(sentences, size=100, window=3, min_count=2)"),
    # draw 40
    ("load: TFRecords parsed into arrays are read", "load",
     "ids, images = [], []\nfor f in tqdm(files):\n    ds = tf.data.TFRecordDataset(f)\n    ds = ds.map(parse_image)\n"
     "    ids = ids + [str(r['id'].numpy()) for r in ds]\n    images = images + [r['image'].numpy() for r in ds]"),
    ("prep: TFRecords batched and shuffled for a model", "prep",
     "ds = tf.data.TFRecordDataset(files)\nds = ds.map(parse_image).shuffle(2048).batch(BATCH_SIZE)"),
    ("imports: a library's log level, a logger, the csv field limit", "imports",
     "import csv, sys, logging\nimport optuna\noptuna.logging.set_verbosity(optuna.logging.WARNING)\n"
     "logger = logging.getLogger('lightning')\ncsv.field_size_limit(sys.maxsize)"),
    ("imports: topic models imported, not built", "imports",
     "import gensim\nfrom gensim.models import CoherenceModel, LdaModel, LsiModel, HdpModel"),
    ("train: an LDA class named, then fitted", "train",
     "Lda = gensim.models.ldamodel.LdaModel\nldamodel = Lda(doc_term_matrix, num_topics=3, id2word=dictionary, passes=50)"),
    ("10: a stacked submission written", "evaluate", "StackingSubmission.to_csv('XGB.csv', index=False)\nStackingSubmission.head()"),
    ("8: a config class of data paths and hyper-parameters: the furthest is train", "train",
     "class CFG:\n    BASE_DIR = Path('/kaggle/input/nfl')\n    TRAIN_CSV = 'train.csv'\n\n"
     "    epochs: int = 20\n    lr = 1e-3\n\nprint(CFG.BASE_DIR)"),
    ("8: a cell of constants among which the model's hyper-parameters: train", "train",
     "import os\nimport torch\n!pip install -q timm\nDATA_DIR = '/kaggle/input/csiro'\nIMG_SIZE = 224\n"
     "CNN_EPOCHS = 5\nLR = 1e-3\ndevice = 'cuda' if torch.cuda.is_available() else 'cpu'\nSEED = 42"),
    # draw 42
    ("2: a Bayesian optimisation of hyper-parameters is tuning", "train",
     "XGB_BO = BayesianOptimization(XGB_CV, {'max_depth': (2, 6.99), 'gamma': (0.1, 5)})"),
    ("train: an AutoML regressor, its import in the cell", "train",
     "from tpot import TPOTRegressor\nauto = TPOTRegressor(generations=3, population_size=9, verbosity=2)"),
    ("imports: plotly's template and palette are settings", "imports",
     "import plotly.io as pio\nimport plotly.express as px\ncolors = px.colors.qualitative.Prism\n"
     "pio.templates.default = 'plotly_white'"),
    ("3: a chunked CSV loader is load", "load",
     "def df_load(file, batch_size, skip=1):\n    reader = pd.read_csv(file, chunksize=batch_size)\n"
     "    return pd.concat(chunk for i, chunk in enumerate(reader) if i % skip == 0)"),
    ("train: a Keras layer called on the tensor", "train", "x = GlobalMaxPool1D()(x)"),
    # draw 43
    ("9: a query read with pandas and only shown", "explore",
     "pd.read_sql(\n    \"\"\"\n    SELECT * FROM Country WHERE CountryCode = 'AFG'\n    \"\"\", con)"),
    ("3: a LightningModule whose validation step computes a metric is the model: train", "train",
     "import torch.nn as nn\nimport pytorch_lightning as pl\n\nclass Regressor(pl.LightningModule):\n"
     "    def __init__(self):\n        super().__init__()\n        self.net = nn.Linear(10, 1)\n"
     "    def training_step(self, batch, i):\n        x, y = batch\n        return nn.functional.mse_loss(self.net(x), y)\n"
     "    def validation_step(self, batch, i):\n        x, y = batch\n        preds = self.net(x)\n"
     "        self.log('val_r2', r2_score(y.cpu(), preds.cpu()))"),
    ("imports: imports made quiet, and the author's name", "imports",
     "__author__ = 'Tilii'\nimport warnings\nwith warnings.catch_warnings():\n    warnings.filterwarnings('ignore')\n"
     "    import numpy as np\n    import pandas as pd\n%matplotlib inline"),
    # draw 44
    ("load: a Dataset class reading a CSV, after its imports, with its instances", "load",
     "import os\nimport pandas as pd\nfrom torch.utils.data import Dataset\n\nclass TweetDataset(Dataset):\n"
     "    def __init__(self, train=True):\n        self.data = pd.read_csv('train.csv' if train else 'test.csv')\n"
     "    def __getitem__(self, i):\n        return self.data.iloc[i]['text']\n\n"
     "train_dataset = TweetDataset(train=True)\ntest_dataset = TweetDataset(train=False)"),
    ("load: a torchvision dataset built from a folder on disk", "load",
     "mnist_dataset = MNIST(root='data/', train=True, transform=transforms.ToTensor())\nprint(mnist_dataset)"),
    ("7: a TF Hub module made a layer to fine-tune", "train",
     "module_url = 'https://tfhub.dev/tensorflow/bert_en_uncased_L-24_H-1024_A-16/1'\n"
     "bert_layer = hub.KerasLayer(module_url, trainable=True)"),
    ("9: the same kept by a name is load", "load",
     "country = pd.read_sql(\"SELECT * FROM Country\", con)"),
    ("8: data paths and the model's hyper-parameters in one cell: train", "train",
     "TRAIN_DIR = '../input/train/'\nTEST_DIR = '../input/test/'\nIMG_SIZE = 224\nBATCH_SIZE = 32\nEPOCHS = 10\n"
     "print(len(os.listdir(TRAIN_DIR)))"),
    ("8: a config class of paths alone stays load", "load",
     "class CFG:\n    BASE_DIR = '/kaggle/input/nfl/'\n    TRAIN_CSV = BASE_DIR + 'train.csv'"),
    # 2026-12-03
    ("8: constants naming data files, with a message printed, are load", "load",
     "PATH_IA = '/kaggle/input/cafa-6/IA.tsv'\nTRAIN_TERMS_TSV = '/kaggle/input/cafa-6/Train/train_terms.tsv'\n"
     "print('File paths are set!')"),
    ("8: the device chosen and printed after the imports is set-up", "imports",
     "import torch\nDEVICE = 'cuda' if torch.cuda.is_available() else 'cpu'\nprint('Device:', DEVICE)"),
    ("8: an optional library's import guarded by a flag is set-up", "imports",
     "warnings.filterwarnings('ignore')\ntry:\n    from xgboost import XGBClassifier\n    XGBOOST_AVAILABLE = True\n"
     "except ImportError:\n    XGBOOST_AVAILABLE = False"),
    ("8: versions printed through f-string fields are set-up", "imports",
     "import numpy as np\nimport sklearn\nprint(f'NumPy version: {np.__version__}')\n"
     "print(f'scikit-learn version: {sklearn.__version__}')"),
    ("8: a GPU check called bare is set-up", "imports", "tf.test.is_gpu_available()"),
    ("6: a transformer made and fitted by name is prep, not a model's fit", "prep",
     "bow = CountVectorizer(max_features=300, analyzer='char')\nbow.fit(texts)\nX = bow.transform(texts)"),
    ("6: an imputer fitted is prep", "-train", "median_imputer.fit(x_val_copy)"),
    ("3: a GAN's discriminator made is train", "train",
     "G_AB = GeneratorResNet(3, num_residual_blocks=9)\nD_B = Discriminator(3)"),
    ("10: predictions named *_pred written to a file are evaluate", "evaluate",
     "df_pred.to_csv('test_scores.csv', index=False)"),
    ("4: a model's scores printed alone are evaluate", "evaluate",
     "print(cv_scores)\nprint('Validation MAE: {}'.format(rf_val_mae))"),
    ("4: a partial dependence plot of a fitted model is evaluate", "evaluate",
     "my_model = GradientBoostingRegressor()\nmy_model.fit(X, y)\n"
     "plot_partial_dependence(my_model, features=[0, 2], X=X)"),
    ("8: output folders made beside the imports are set-up", "imports",
     "import torch\nimport timm\n!mkdir logs\n!mkdir saved_models"),
    ("8: numpy's error settings kept by _ are set-up", "imports",
     "import numpy as np\n_ = np.seterr(divide='ignore', invalid='ignore')"),
    ("10: submission files read and blended with weights are evaluate", "evaluate",
     "a = pd.read_csv('/kaggle/input/subs/submission_0.92684.csv')\n"
     "b = pd.read_csv('/kaggle/input/subs/submission_0.92672.csv')\n"
     "sub = pd.read_csv('/kaggle/input/s5e11/sample_submission.csv')\n"
     "sub['target'] = a['target'] * 0.6 + b['target'] * 0.4"),
    ("10: a frame written as sub_*.csv is predictions", "evaluate", "base1.to_csv('subm1imp.csv')"),
    ("6: a categorical encoder's helper is no network's encoder", "-train",
     "def label_encoder(train, test, columns):\n    for col in columns:\n"
     "        train[col] = LabelEncoder().fit_transform(train[col])"),
    ("8: a GPU checked and cuda settings beside the imports are set-up", "imports",
     "import torch\ntorch.backends.cuda.enable_flash_sdp(False)\n"
     "if (not torch.cuda.is_available()): print('Sorry - GPU required!')"),
    ("8: %time alone and colorama's colours beside the imports are set-up", "imports",
     "%time\nimport numpy as np\nfrom colorama import Fore\ny_ = Fore.YELLOW\nr_ = Fore.RED"),
    # 2026-12-03 (session 40)
    ("8: data made by scikit-learn's generators, named X and y, is load", "load",
     "X, y = make_regression(n_samples=100, n_features=1, noise=20, random_state=13)"),
    ("3: a helper named for drawing draws, whatever else its name says", "explore",
     "def outliers_visualisation(var, var_out):\n    f, ax = plt.subplots(nrows=1, ncols=2)\n"
     "    sns.distplot(var, ax=ax[0])\n    sns.boxenplot(var_out, ax=ax[1])\n    plt.show()"),
    ("2: a dropna inside a print changes nothing: a look at the data", "explore",
     "print('Average funding:', funding['AmountInUSD'].dropna().sort_values().mean())"),
    ("2: a fill shown as it is still prepares (the tutorials' way)", "prep", "df.fillna(method='bfill')"),
    ("3: a loss function of one's own, named loss_fn, is train", "train",
     "def disc_loss_fn(real, generated):\n    loss_real = bce(tf.ones_like(real), real)\n"
     "    loss_fake = bce(tf.zeros_like(generated), generated)\n    return (loss_real + loss_fake) / 2"),
    ("5: a normal curve fitted to the target to draw it is a look at the data", "-train",
     "sns.distplot(target, fit=norm)\n(mu, sigma) = norm.fit(df['price'])\nprint(mu, sigma)"),
    ("3: numbered loss functions of one's own are train", "train",
     "with strategy.scope():\n    def discriminator_loss1(real, generated):\n"
     "        return tf.reduce_mean(tf.math.minimum(0.0, real - 1.0))"),
    ("6: cluster distances kept as features are prep", "prep",
     "kmeans = KMeans(n_clusters=10, n_init=10)\nX_cd = kmeans.fit_transform(X_scaled)\n"
     "X_cd = pd.DataFrame(X_cd, columns=[f'Centroid_{i}' for i in range(10)])\nX = X.join(X_cd)"),
    ("8: a loss made for training is train", "train",
     "loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)"),
    ("2: a loader of one's own called under a type annotation, and shown, is load", "load",
     "train: pl.DataFrame = load_trainset()\nprint(train.tail(3))"),
    ("3: a helper that reads data and resets its index loads", "load",
     "def get_fred_data(series_list, start_date, end_date):\n"
     "    df = pdr.DataReader(series_list, 'fred', start_date, end_date)\n    return df.reset_index()"),
    ("3: a helper that draws is explore, whatever frames it makes inside", "explore",
     "def show_images(df_sample, n=12):\n    df_sorted = df_sample.sort_values(by='target').reset_index(drop=True)\n"
     "    df_sorted['label'] = df_sorted['target'].round(1)\n    fig, axes = plt.subplots(3, 4)\n"
     "    for ax, (_, row) in zip(axes.flat, df_sorted.iterrows()):\n        ax.imshow(Image.open(row.path))\n"
     "        ax.set_title(row.label)\n\nshow_images(train_df)"),
    ("4: a generator's output drawn is evaluate", "evaluate",
     "example_sample = next(ds_iter)\ngenerated_sample = photo_generator(example_sample)\n"
     "plt.imshow(generated_sample[0] * 0.5 + 0.5)\nplt.show()"),
    ("4: losses collected by hand under a model's name, drawn, are evaluate", "evaluate",
     "plt.figure(figsize=(10, 4))\nplt.plot(ems2_losses['val'], label='EMS2')\nplt.legend()"),
    ("5: a missing-value table made and its columns named is a look at the data", "explore",
     "missing_df = df.isnull().sum(axis=0).reset_index()\nmissing_df.columns = ['column_name', 'missing_count']\n"
     "missing_df = missing_df.sort_values(by='missing_count')\nmissing_df"),
    ("3: an encoder helper that encodes categories prepares", "-train",
     "def encoder(df):\n    for ft in categorical_cols:\n        df[ft] = LabelEncoder().fit_transform(df[ft])\n    return df"),
    ("8: a module search path set and stale modules dropped, beside imports, is set-up", "imports",
     "import sys\nsys.path.append('/kaggle/input/utils')\nif 'datasets' in sys.modules:\n"
     "    del sys.modules['datasets']\nimport prep_data"),
    ("3: a stacking model made is train", "train",
     "stack_gen = StackingCVRegressor(regressors=(ridge, lasso, gbr), meta_regressor=xgboost)"),
    ("3: a learning-rate schedule of one's own is train", "train",
     "def exponential_schedule_with_warmup(epoch):\n    if epoch < 3:\n        return 1e-4 * (epoch + 1)\n"
     "    return 3e-4 * 0.8 ** (epoch - 3)"),
    ("7: a prediction helper named predict, its result kept as a submission, is evaluate", "evaluate",
     "submission_df = predict('ProtBERT')"),
    ("6: factor analysis fitted to make features prepares", "-train",
     "fa = FactorAnalysis(n_components=5, rotation='varimax')\nfa.fit(X_train[numerics])"),
    ("6: a vectorizer fitted at once on the texts prepares", "-train",
     "counts_vectorizer = CountVectorizer(max_features=10000-1).fit(\n    itertools.chain(df['q1'], df['q2']))"),
    ("5: files counted and printed are a look at the data", "explore",
     "print(len(os.listdir('/tmp/cats-v-dogs/training/cats/')))\nprint(len(os.listdir('/tmp/cats-v-dogs/training/dogs/')))"),
    # rules round: explore called prep
    ("2: a group-by summary made in the cell, a column set on it and drawn, is explore", "explore",
     "ctr = df.groupby('day')['click'].agg(['sum', 'count']).reset_index()\nctr['rate'] = ctr['sum'] / ctr['count']\n"
     "sns.barplot(x='day', y='rate', data=ctr)\nplt.show()"),
    ("4: a figure's axes flattened to draw histograms of the data is explore", "explore",
     "fig, axes = plt.subplots(2, 3, figsize=(15, 8))\naxes = axes.flatten()\nfor ax, col in zip(axes, num_cols):\n"
     "    ax.hist(train[col], bins=50)\n    ax.set_title(col)\nplt.show()"),
    ("2: a group-by count kept in a frame and shown sorted is explore", "explore",
     "top = pd.DataFrame({'count': strikes.groupby(['species']).size()}).reset_index()\n"
     "top.sort_values(['count'], ascending=False).head(10)"),
    # rules round: the TRAIN boundary
    ("3: a Keras layer of one's own is part of the model, train", "train",
     "class Attention(Layer):\n    def build(self, input_shape):\n"
     "        self.W = self.add_weight(shape=(input_shape[-1],), name='att_W')\n"
     "    def call(self, x):\n        eij = K.reshape(K.dot(x, K.reshape(self.W, (-1, 1))), (-1, self.step_dim))\n"
     "        a = K.exp(eij)\n        return K.sum(x * K.expand_dims(a), axis=1)"),
    ("6: a class of one's own with fit() and transform() is a feature step, prep", "prep",
     "class FreqEncoder:\n    def fit(self, X, cols):\n"
     "        self.maps = {c: X[c].value_counts(normalize=True) for c in cols}\n        return self\n"
     "    def transform(self, X):\n        X = X.copy()\n        for c, m in self.maps.items():\n"
     "            X[c + '_freq'] = X[c].map(m)\n        return X"),
    ("8: a model's hyper-parameters set and printed are train; the print only shows them", "train",
     "N_SPLITS = 5\nparams = {'max_depth': 6, 'learning_rate': 0.05, 'n_estimators': 500}\n"
     "print('XGBoost configuration')\nfor k, v in params.items():\n    print(f'  {k}: {v}')"),
    ("2: a hand-written loop cross-validating one candidate after another is tuning, train", "train",
     "estimators = [10, 50, 100, 200]\nmeans = []\nfor n in estimators:\n"
     "    model = RandomForestRegressor(n_estimators=n)\n"
     "    scores = cross_val_score(model, X, y, cv=5, scoring='neg_mean_absolute_error')\n"
     "    means.append(-scores.mean())\n    print(n, -scores.mean())"),
    ("prep: an augmenting image generator fitted to the images is augmentation set-up", "prep",
     "train_aug = ImageDataGenerator(rotation_range=10, zoom_range=0.1, width_shift_range=0.1)\n"
     "train_aug.fit(X_train)\ntrain_gen = train_aug.flow(X_train, y_train, batch_size=64)"),
    ("2: a training loop, then the model scored on the test loader after it, is evaluate", "evaluate",
     "for epoch in range(5):\n    for xb, yb in train_loader:\n        loss = criterion(model(xb), yb)\n"
     "        optimizer.zero_grad()\n        loss.backward()\n        optimizer.step()\n\n"
     "correct = 0\nwith torch.no_grad():\n    for xb, yb in test_loader:\n"
     "        correct += (model(xb).argmax(1) == yb).sum().item()\n"
     "accuracy = correct / len(test_data)\nprint(f'Test accuracy: {accuracy:.4f}')"),
    # rules round: the LOAD boundary
    ("load: a web page fetched and parsed in the cell is scraping, load", "load",
     "page = requests.get(url)\nsoup = BeautifulSoup(page.text, 'html.parser')\n"
     "titles = [h.get_text() for h in soup.find_all('h2')]"),
    ("load: a dataset kept in many files, read in a loop and stacked, is loading", "load",
     "frames = []\nfor f in sorted(glob.glob('data/week_*.csv')):\n    part = pd.read_csv(f)\n"
     "    frames.append(part)\ntrain = pd.concat(frames, ignore_index=True)"),
    ("load: a tf.data dataset read from files and batched on the same line is load", "load",
     "train_ds = load_dataset(TRAIN_FILENAMES).batch(1)\nraw = tf.data.TFRecordDataset(filenames).batch(10)"),
    ("3: an image-reading helper that swaps OpenCV's colour order to RGB is load", "load",
     "def read_image(path):\n    img = cv2.imread(path)\n    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)"),
    # rules round: evaluate/explore boundary
    ("3: a stationarity-test helper run on the data is a look at it", "explore",
     "def test_stationarity(timeseries):\n    rolmean = timeseries.rolling(window=12).mean()\n"
     "    plt.plot(timeseries)\n    plt.plot(rolmean)\n    plt.show()\n"
     "    dftest = adfuller(timeseries, autolag='AIC')\n    print(dftest[1])\n\ntest_stationarity(ts)"),
    ("3: a helper that plots features' mutual information with the target looks at the data", "explore",
     "def plot_mi_scores(scores):\n    scores = scores.sort_values(ascending=True)\n    width = np.arange(len(scores))\n"
     "    plt.barh(width, scores)\n    plt.yticks(width, list(scores.index))\n\nplot_mi_scores(mi_scores)"),
    ("4: cross-validation scores drawn are a model's results", "evaluate",
     "fig, ax = plt.subplots(figsize=(8, 5))\ncv_scores['test_r2'].mean().plot(ax=ax, logx=True, xlabel='alpha')\nplt.show()"),
    # rules round: prep called explore or left to context
    ("2: a column inserted into a frame, then shown, is prep", "prep",
     "df.insert(0, 'Country', names)\ndf.head()"),
    ("2: an image filtered and kept, then shown, is prep", "prep",
     "blur = cv2.GaussianBlur(gray, (21, 21), 0)\nplt.imshow(blur, cmap='gray')\nplt.axis('off')\nplt.show()"),
    # rules round: feeds_model (data kept for a model) where it is wrong
    ("2: the columns of one dtype listed and printed are a look at the dtypes, explore", "explore_dtype_columns",
     "s = (X_train.dtypes == 'object')\nobject_cols = list(s[s].index)\nprint('Categorical variables:')\nprint(object_cols)"),
    ("2: a list of columns written only to show those columns' missing rows is a look at the data", "explore_columns_shown",
     "garage_cols = ['GarageType', 'GarageQual', 'GarageCond']\nhouses[garage_cols][houses['GarageType'].isnull() == True]"),
    # rules round: the EVALUATE/PREP boundary
    ("6: a pretrained network's hidden states taken as features are prep, not a model's output", "prep",
     "def get_embedding(text):\n    inputs = tokenizer(text, return_tensors='pt')\n    with torch.no_grad():\n"
     "        outputs = model(**inputs)\n    return outputs.last_hidden_state.mean(dim=1).squeeze().numpy()\n\n"
     "train_emb = np.stack([get_embedding(t) for t in train_texts])"),
    ("prep: a column merged into a table of game results (a word ending in results) is no submission", "prep",
     "seasonresults['WSeed'] = seasonresults[['Season', 'WTeamID']].merge(seeds, how='left', on=['Season', 'WTeamID'])['Seed']"),
    ("10: a submission file written line by line holds predictions", "evaluate",
     "with open('submission.csv', 'w') as f:\n    f.write('id,label\\n')\n"
     "    for i, label in zip(test_ids, labels):\n        f.write(f'{i},{label}\\n')"),
    ("3: a helper that builds the test set's feature matrix prepares data; no model is tested", "prep",
     "def build_test_matrix(test_df, features):\n    X_test = test_df[features].copy()\n"
     "    X_test['cat'] = X_test['cat'].astype('category')\n    return X_test"),
    ("3: a competition metric in Kaggle's form (solution, submission) is evaluate, whatever its name", "evaluate",
     "def adjusted_sharpe(solution: pd.DataFrame, submission: pd.DataFrame) -> float:\n"
     "    solution['position'] = submission['prediction']\n"
     "    excess = solution['position'] * solution['forward_returns'] - solution['risk_free_rate']\n"
     "    return excess.mean() / excess.std()"),
    ("10: predictions set as attributes of the submission frame are evaluate", "evaluate",
     "sample_sub.EAP = test_prob['EAP']\nsample_sub.HPL = test_prob['HPL']"),
    # rules round: the IMPORTS boundary (environment set-up)
    ("a tf.data pipeline that prefetches with AUTOTUNE is not set-up", "-imports",
     "train_ds = (raw_ds\n    .map(parse_image)\n    .batch(BATCH_SIZE)\n    .prefetch(AUTOTUNE))"),
    ("8: mixed precision and XLA switched for the run are set-up", "imports",
     "MIXED_PRECISION = False\nXLA_ACCELERATE = False\n\nif MIXED_PRECISION:\n"
     "    if tpu: policy = tf.keras.mixed_precision.experimental.Policy('mixed_bfloat16')\n"
     "    else: policy = tf.keras.mixed_precision.experimental.Policy('mixed_float16')\n"
     "    mixed_precision.set_policy(policy)\n\nif XLA_ACCELERATE:\n    tf.config.optimizer.set_jit(True)"),
    ("a Python module fetched for the code to import is set-up, not data", "imports",
     "!wget --quiet https://raw.githubusercontent.com/tensorflow/models/master/official/nlp/bert/tokenization.py\n"
     "import tokenization"),
    ("8: memory cleared between runs, and a helper that clears it, are set-up", "imports",
     "import gc\nimport torch\n\ndef clear_memory():\n    torch.cuda.empty_cache()\n    gc.collect()\n\n"
     "cpu = torch.device('cpu')\ntf.reset_default_graph()"),
    ("a course's input files linked where its checker looks are set-up", "imports",
     "import os\nif not os.path.exists('../input/train.csv'):\n"
     "    os.symlink('../input/home-data-for-ml-course/train.csv', '../input/train.csv')\n"
     "from learntools.core import binder\nbinder.bind(globals())\nprint('Setup Complete')"),
    ("a service logged into with a key from the environment is set-up", "imports",
     "from dotenv import load_dotenv\nimport os\n\nload_dotenv()\nAPI_KEY = os.getenv('WANDB_KEY')\n"
     "wandb.login(key=API_KEY)"),
    # rules round: show-level explore rules deciding another stage's cell
    ("2: data read and only its number of distinct values printed, like its shape, is load", "load",
     "sessions = pd.read_csv('sessions.csv')\nprint('users:', len(sessions.user_id.unique()))\n"
     "print(f'labs: {sessions[\"lab_id\"].nunique()}')"),
    # rules round: the TRAIN/EVALUATE boundary
    ("2, 8: the hyper-parameters a search or a CV model chose, only shown, are train", "train",
     "print('Best params:', study.best_params)\nprint('alpha:', lasso_cv.alpha_)"),
    ("2: a finished search's score or results table, only shown, is a score reported: evaluate", "evaluate",
     "results = pd.DataFrame(grid_search.cv_results_)\nprint(np.sqrt(-grid_search.best_score_))\nresults"),
    ("6: a topic model fitted as the analysis, its topics printed, is train", "train",
     "lda = LdaModel(corpus=doc_term_matrix, num_topics=5, id2word=dictionary, passes=30)\n"
     "pprint(lda.print_topics(num_words=4))"),
    ("a network's summary or trainable parameters shown, like model.summary(), are train", "train",
     "monet_generator.summary()\nlora_model.print_trainable_parameters()"),
    ("3: a network's output layer named predictions, or a symbolic graph's cost minimized, is the model: train", "train",
     "x = base_model.output\npredictions = tf.keras.layers.Dense(5, activation='softmax')(x)\n"
     "model = tf.keras.models.Model(inputs=base_model.input, outputs=predictions)\n"
     "cost = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(pred, y))\n"
     "optimizer = tf.train.AdamOptimizer(learning_rate=0.01).minimize(cost)"),
    ("2: models fitted over the candidates in a list and scored (BIC, elbow) is tuning: train", "train",
     "n_components = np.arange(1, 21)\n"
     "models = [GaussianMixture(n, covariance_type='full').fit(X)\n          for n in n_components]\n"
     "plt.plot(n_components, [m.bic(X) for m in models], label='BIC')"),
    # rules round: EXPLORE cells the weak labels called PREP
    ("2: a crosstab made in the cell and only its own share column derived is a look at the data", "explore",
     "churn = pd.crosstab(index=df['month'], columns=df['target'])\nchurn['%'] = round(churn[1] / churn[0] * 100, 2)"),
    ("correlations of the columns with the target, shown, are a look at the data", "explore",
     "corr = df.drop(['id', 'y'], axis=1).corrwith(df.y)\nprint('max', corr.max())\ncorr.sort_values()"),
    ("a column's dtype shown is a look at the data", "explore", "# check the date column\nlandslides['date'].dtype"),
    # rules round: the TRAIN boundary with prep and explore
    ("cross-validation folds set up, beside their number, are a split: prep", "prep",
     "N_SPLITS = 5\nskf = StratifiedKFold(n_splits=N_SPLITS, shuffle=True, random_state=42)"),
    ("6: an embedding matrix filled from pretrained word vectors is features: prep", "prep",
     "EMBEDDING_DIM = 50\nembedding_matrix = np.zeros((len(word_index) + 1, EMBEDDING_DIM))\n"
     "for word, i in word_index.items():\n    embedding_vector = embeddings_index.get(word)\n"
     "    if embedding_vector is not None:\n        embedding_matrix[i] = embedding_vector"),
    ("3: an exercise's blank where the model is to be made and fitted is for training", "train",
     "# Specify the model\niowa_model = ____\n\n# Fit iowa_model with the training data.\n____\nstep_2.check()"),
    ("3: ... and one where its predictions and error are to be computed, for evaluating", "evaluate",
     "# Get predictions\npredictions_2 = ____ # Your code here\n\n# Calculate MAE\nmae_2 = ____\nstep_2.check()"),
    ("6: a model made and fitted only inside a feature selector is feature selection: prep", "prep",
     "from mlxtend.feature_selection import SequentialFeatureSelector as SFS\nknn = KNeighborsClassifier(n_neighbors=4)\n"
     "sfs1 = SFS(knn, k_features=3, forward=True, scoring='accuracy', cv=5)\nsfs1 = sfs1.fit(X, y)\n"
     "print(sfs1.k_feature_idx_)"),
    ("3: a Lightning DataModule (setup, train_dataloader) feeds a model; it trains none", "-train",
     "class ImageDataModule(pl.LightningDataModule):\n    def __init__(self, train_df, batch_size=8):\n"
     "        super().__init__()\n        self.train_df = train_df\n        self.batch_size = batch_size\n\n"
     "    def setup(self, stage=None):\n        self.train_ds = ImageDataset(self.train_df)\n\n"
     "    def train_dataloader(self):\n        return DataLoader(self.train_ds, batch_size=self.batch_size, shuffle=True)"),
    ("3: a network written by hand, its activation and forward pass, is the model: train", "train",
     "def relu(x):\n    x[x < 0] = 0\n    return x\n\n"
     "def feed_forward(X, weights):\n    h = relu(np.dot(X, weights[0]))\n    return np.dot(h, weights[1])"),
    # rules round: the LOAD boundary (third wave)
    ("3: helpers that read the data are load, though they concatenate, split lines or set columns", "load",
     "import glob\n\ndef read_week(path):\n    df = pd.read_csv(path)\n    df['week'] = path[-6:-4]\n    return df\n\n"
     "def load_all(pattern):\n    frames = [read_week(p) for p in sorted(glob.glob(pattern))]\n"
     "    return pd.concat(frames, ignore_index=True)\n\ntrain = load_all('../input/train/*.csv')\ntrain.head()"),
    ("8: text written into the cell as its only statements is data made in the cell", "load",
     "doc1 = \"Sugar is bad to consume. My sister likes to have sugar.\"\n"
     "doc2 = \"My father spends a lot of time driving my sister around.\"\n"
     "reviews = [\n    'The cake is great and the service was quick',\n    'awful',\n]\ndocs = [doc1, doc2]"),
    ("a lookup written for cleaning text is text preparation, not data made in the cell", "prep",
     "contraction_mapping = {\"ain't\": \"is not\", \"aren't\": \"are not\", "
     "\"can't\": \"can not\", \"couldn't\": \"could not\", \"didn't\": \"did not\", "
     "\"doesn't\": \"does not\", \"don't\": \"do not\", \"hadn't\": \"had not\", "
     "\"hasn't\": \"has not\", \"haven't\": \"have not\", \"isn't\": \"is not\", "
     "\"mightn't\": \"might not\", \"mustn't\": \"must not\", \"needn't\": \"need not\", "
     "\"shan't\": \"shall not\", \"shouldn't\": \"should not\", \"wasn't\": \"was not\", "
     "\"weren't\": \"were not\", \"won't\": \"will not\", \"wouldn't\": \"would not\", "
     "\"mayn't\": \"may not\"}"),
    # rules round: the EVALUATE/PREP boundary (third wave)
    ("6: a pretrained network's outputs kept as bottleneck features are prep, not predictions", "prep",
     "vgg_bottleneck = VGG16(weights='imagenet', include_top=False, pooling='avg')\n"
     "train_vgg_bf = vgg_bottleneck.predict(Xtr, batch_size=32)\nvalid_vgg_bf = vgg_bottleneck.predict(Xv, batch_size=32)"),
    ("6: the features RFE chose, read off the selector, are feature selection (prep), not a model's output", "prep",
     "print(rfe.support_)\nprint(rfe.ranking_)"),
    ("6: out-of-fold predictions put side by side as a next model's features are prep", "prep",
     "meta_train = np.column_stack([oof_lgb, oof_cat, oof_xgb])\nmeta_test = np.column_stack([test_lgb, test_cat, test_xgb])"),
    ("10: a submission frame put together from ids and predictions is evaluate", "evaluate",
     "submission = pd.concat([test_ids, pd.Series(pred_rf, name='SalePrice')], axis=1)\nsubmission.head()"),
    # rules round: the EVALUATE/EXPLORE boundary
    ("4: XGBoost's importances (get_fscore) put in a frame and drawn are model interpretation", "evaluate",
     "imp = model.get_fscore()\nfi = pd.DataFrame({'feature': list(imp.keys()), 'score': list(imp.values())})\n"
     "fi = fi.sort_values('score', ascending=False)\nsns.barplot(x='score', y='feature', data=fi.head(20))"),
    ("4: test images drawn under predicted labels kept in a name with pred as a part are evaluate", "evaluate",
     "plt.figure(figsize=(10, 10))\nfor i in range(25):\n    plt.subplot(5, 5, i + 1)\n"
     "    plt.title(str(y_test_pred_labels[i]))\n    plt.imshow(x_test[i].reshape(28, 28), cmap='gray')"),
    ("7: a Hugging Face pipeline made for a task is a pretrained model set up to answer, evaluate", "evaluate",
     "from transformers import pipeline\n\nsummarizer = pipeline('summarization', model='facebook/bart-large-cnn')"),
    ("7: OpenCV's pretrained Haar cascade run on an image and drawn is a pretrained model predicting", "evaluate",
     "face_cascade = cv2.CascadeClassifier('haarcascade_frontalface_default.xml')\n"
     "faces = face_cascade.detectMultiScale(gray, 1.3, 5)\nfor (x, y, w, h) in faces:\n"
     "    cv2.rectangle(img, (x, y), (x + w, y + h), (255, 0, 0), 2)\nplt.imshow(img)"),
    # rules round: prep cells called explore
    ("3: a filling helper named in camel case is prep, though its body reads a shape", "prep",
     "def FillSpend(dataset, feature):\n    idx = dataset[dataset[feature].isnull()].index\n"
     "    dataset[feature][idx] = 0\n    print(dataset.shape)"),
    ("a sparse user-item matrix built from the data and kept is prep", "prep",
     "users = list(np.sort(df['user_id'].unique()))\nitems = list(df['item_id'].unique())\n"
     "ratings = sparse.csr_matrix((df['rating'], (df['user_id'], df['item_id'])), shape=(len(users), len(items)))"),
    # rules round: gold EVALUATE called PREP, TRAIN and EVALUATE swapped
    ("2: a grid search, then its chosen model scored on the test set, is fit + score: evaluate", "evaluate",
     "grid = GridSearchCV(LogisticRegression(), {'C': [0.1, 1, 10]}, cv=5)\ngrid.fit(X_train, y_train)\n"
     "y_pred = grid.predict(X_test)\nprint(accuracy_score(y_test, y_pred))"),
    ("4: a clustering fitted and its labels drawn is a model's output plotted: evaluate", "evaluate",
     "kmeans = KMeans(n_clusters=4, random_state=0)\nkmeans.fit(X)\n"
     "plt.scatter(X[:, 0], X[:, 1], c=kmeans.labels_, cmap='viridis')"),
    ("3: a run-length encoding helper puts predicted masks in a submission's form: evaluate", "evaluate",
     "def rle_encoding(x):\n    dots = np.where(x.T.flatten() == 1)[0]\n    run_lengths = []\n    prev = -2\n"
     "    for b in dots:\n        if b > prev + 1:\n            run_lengths.extend((b + 1, 0))\n"
     "        run_lengths[-1] += 1\n        prev = b\n    return run_lengths"),
    ("10: predictions put into a submission frame named subm are evaluate", "evaluate",
     "subm['target'] = [1 if p > 0.5 else 0 for p in test_probs]"),
    ("4: a model fitted, then a line drawn from its coefficients over the data, is evaluate", "evaluate",
     "reg = LinearRegression()\nreg.fit(X, y)\nxs = np.linspace(0, 10, 100)\n"
     "plt.scatter(X, y)\nplt.plot(xs, reg.intercept_ + reg.coef_[0] * xs, 'r')"),
    # rules round: cells only the context LFs voted on (fourth wave)
    ("9: a connection to a database opened at the top level is load", "load",
     "import duckdb\n# Open a connection\nconn = duckdb.connect('data/bank.db')"),
    ("imports with matplotlib's magic written `% matplotlib` and a style set through `style.use` are imports", "imports",
     "import pandas as pd\nfrom matplotlib import style\n% matplotlib inline\nstyle.use('ggplot')"),
    ("a column name taken out of a list of feature columns, alone in a cell, adjusts the features: prep", "prep",
     "numerical.remove('TargetD')"),
    ("a recommender asked for its recommendations uses a trained model: evaluate", "evaluate",
     "improved_recommendations('The Dark Knight')"),
    ("8: early-stopping patience and batch size set are hyper-parameters: train", "train",
     "patience = 10\nbatchsize = 128"),
    # rules round: EVALUATE cells called explore or load (fourth wave)
    ("7: a saved model unpickled under a name that says so is loaded to predict, evaluate", "evaluate",
     "with open('rf_param_model', 'rb') as f:\n    best_rf_model = pickle.load(f)\n\nbest_rf_model"),
    ("10: a folder of generated images zipped as the submission is writing predictions, evaluate", "evaluate",
     "import shutil\nshutil.make_archive('/kaggle/working/images', 'zip', '../images')\n"
     "print(len(os.listdir('../images')))"),
    ("3: a run-length encoder of masks is for writing predicted masks, evaluate", "evaluate",
     "def rle_encoding(x):\n    dots = np.where(x.T.flatten() == 1)[0]\n    run_lengths = []\n    prev = -2\n"
     "    for b in dots:\n        if (b > prev + 1): run_lengths.extend((b + 1, 0))\n"
     "        run_lengths[-1] += 1\n        prev = b\n    return run_lengths"),
    ("a table of models and their scores put together compares models, evaluate, not data written in the cell", "evaluate",
     "models = pd.DataFrame({\n    'Model': ['Support Vector Machines', 'KNN', 'Logistic Regression'],\n"
     "    'Score': [acc_svc, acc_knn, acc_lr]})\nmodels.sort_values(by='Score', ascending=False)"),
    ("a series decomposed and its residuals drawn is a look at the data, explore, not a model's residuals", "explore",
     "decomposition = sm.tsa.seasonal_decompose(df_date_index, model='multiplicative', freq=7)\n"
     "trend = decomposition.trend\nseasonal = decomposition.seasonal\nresidual = decomposition.resid\n"
     "plt.subplot(411)\nplt.plot(df_date_index, label='Original')\nplt.subplot(414)\nplt.plot(residual, label='Residuals')"),
    ("4: XGBoost's evaluation sets read by their keys and drawn are training curves, evaluate", "evaluate",
     "fig, ax = plt.subplots()\nax.plot(x_axis, results['validation_0']['merror'], label='Train')\n"
     "ax.plot(x_axis, results['validation_1']['merror'], label='Test')\nax.legend()\nplt.show()"),
    # rules round: gold LOAD called PREP or EXPLORE, PREP called LOAD (fifth wave)
    ("a file read without a header and its columns named is still reading it, load, as read_csv's names= would be", "load",
     "data = pd.read_csv('processed.cleveland.data.txt', sep=',', header=None)\n"
     "data.columns = ['age', 'sex', 'pain', 'restbp', 'chol', 'fbs']"),
    ("a parsed page's table rows taken out and collected is scraping, load, though the page was fetched in an earlier cell", "load",
     "table = []\nfor row in soup.find('tbody').find_all('tr'):\n"
     "    table.append([td.text.strip() for td in row.find_all('td')])"),
    # rules round: EXPLORE cells called PREP (fifth wave)
    ("a statistical test run on subsets of the data is a look at it, explore; the subsets only feed the test", "explore",
     "survived_age = df[df['survived'] == 1]['age'].dropna()\ndied_age = df[df['survived'] == 0]['age'].dropna()\n"
     "t_stat, p_val = stats.ttest_ind(survived_age, died_age, equal_var=False)\nprint(t_stat, p_val)"),
    ("a table of dtypes built, its columns renamed and counted only to be read is explore, not prep", "explore",
     "dtype_df = train_df.dtypes.reset_index()\ndtype_df.columns = ['Count', 'Column Type']\n"
     "dtype_df.groupby('Column Type').aggregate('count').reset_index()"),
    # rules round: evaluate cells gold calls prep or explore
    ("a clustering model fitted, its cluster ids set as a column through .loc, derives features: prep, not evaluate or train", "prep",
     "coords = np.hstack((coord_pickup, coord_dropoff))\nkmeans = MiniBatchKMeans(n_clusters=10, batch_size=10000).fit(coords)\n"
     "for df in (train, test):\n    df.loc[:, 'loc_cluster'] = kmeans.predict(df[['lat', 'lon']])"),
    # rules round: gold explore called load (fifth wave)
    ("images opened only to tally their sizes look at the data, explore, not load", "explore",
     "shapes_set = set()\nfor name in os.listdir(IMG_DIR):\n    img = cv2.imread(os.path.join(IMG_DIR, name))\n"
     "    shapes_set.add(img.shape)\nprint('unique shapes:', len(shapes_set))"),
    # rules round: gold TRAIN called explore (fifth wave)
    ("a learning-rate schedule drawn is optimizer set-up, train, not a plot of the data", "train",
     "learning_rates = [custom_lr_scheduler(epoch) for epoch in range(0, 30)]\n"
     "plt.figure(figsize=(10, 6))\nplt.plot(range(0, 30), learning_rates, marker='o')\n"
     "plt.title('Learning Rate Schedule')\nplt.show()"),
    ("Vowpal Wabbit run from the shell writing its model is fitting, train", "train",
     "!vw --oaa 3 train.vw -f model.vw -b 24 --loss_function logistic --passes 30"),
    # round 2
    ("2: a pivot table of counts built, its index reset, columns named, sorted and printed is a table read for insight, explore", "explore",
     "print('Positions and their counts:')\npos = player.pivot_table(index=['position'], aggfunc='size')\n"
     "pos = pos.reset_index()\npos.columns = ['Position', 'Count']\npos = pos.sort_values('Count', ascending=False)\nprint(pos)"),
    # round 3
    ("4: a cell that only shows a model's forecasts, made cells earlier, looks at its output: evaluate", "evaluate",
     "print(rnn_forecast)"),
    ("7: a pretrained detector run on an image and its detections drawn is a model used to predict, evaluate", "evaluate",
     "image = mp.Image.create_from_file(IMAGE_FILE)\ndetection_result = detector.detect(image)\n"
     "annotated = visualize(np.copy(image.numpy_view()), detection_result)\nplt.imshow(annotated)"),
    # round 5
    ("a clustering fitted and asked for the clusters of the same data, nothing drawn nor scored, is the analysis itself: train", "train",
     "from sklearn.cluster import KMeans\nkmeans = KMeans(n_clusters=4)\nkmeans.fit(X)\ny_kmeans = kmeans.predict(X)"),
    # round 7
    ("3: a report helper that names no model, prediction or score reports on the data (missing values): explore, not evaluate", "explore",
     "def null_report(df):\n    counts = df.isnull().sum()\n    share = counts / len(df)\n"
     "    display(pd.DataFrame({'n_null': counts, 'p_null': share}))"),
    # round 8
    ("a mathematical-programming model's decision variables made is the model defined, train", "train",
     "y = cp.Variable(len(cost), boolean=True)"),
    ("a TF1 network's layer written out, its weights made by the tutorial's helpers, is the model built, train", "train",
     "W_conv1 = weight_variable([5, 5, 1, 32])\nb_conv1 = bias_variable([32])\nx_image = tf.reshape(x, [-1, 28, 28, 1])\n"
     "h_conv1 = tf.nn.relu(conv2d(x_image, W_conv1) + b_conv1)\nh_pool1 = max_pool_2x2(h_conv1)"),
    ("6: a k-means of the notebook's own run on the data is clustering as the analysis itself, train", "train",
     "labels, centers, km = c.kmeans_clustering(3)"),
    # round 6
    ("7: a trained GAN generator put in inference mode and run on photos, its outputs saved, is a model used: evaluate", "evaluate",
     "G_BA.eval()\nfor f in files:\n    img = transform(Image.open(f)).unsqueeze(0)\n"
     "    fake = G_BA(img).detach().cpu()\n    save_image(fake, os.path.join(out_dir, os.path.basename(f)))"),
    ("a models' scores table grown row by row under the name result compares models, evaluate", "evaluate",
     "result = result.append(pd.Series({'Model': 'SVC', 'Test Accuracy': svc_test_accuracy}), ignore_index=True)\nresult"),
    ("10: a file named as a submission in short form inside a longer name holds predictions, evaluate", "evaluate",
     "last = pd.merge(test_orders, last_products, on='user_id', how='left')[['order_id', 'products']]\n"
     "last.to_csv('dumb2_subm.csv', index=False)"),
    ("2: one's own helper's result averaged as the cell's value reports a cross-validated score, evaluate", "evaluate",
     "data = df[['shot_distance', 'shot_made_flag']].dropna()\ntest_it(data).mean()"),
    # round 9.3
    ("8: a batch size passed to a data reader on a call's continuation line is a keyword argument, not a hyper-parameter: load", "load",
     "input_path = '../input/'\ndf_num = df_load(input_path + 'train_numeric.csv',\n                 batch_size=100000)"),
    # round 9.4
    ("a dataset built from a folder of images and wrapped in a DataLoader, nothing else, is data brought in: load", "load",
     "photo_ds = PhotoDataset('../input/gan-getting-started/photo_jpg/')\n"
     "photo_dl = DataLoader(photo_ds, batch_size=1, shuffle=True, num_workers=2)"),
    # round 9.2
    ("2: a working copy made in the cell, its columns set only to feed the box plots drawn after, explore", "explore",
     "df = diamonds_df.copy()\ndf['color'] = df['color'].map({'J': 0, 'I': 1, 'H': 2})\n"
     "sns.boxplot(x='color', y='price', data=df)"),
    # round 9.5
    ("3: Frechet Inception Distance helpers, a generative model's score, are evaluate (not the GAN's training)", "eval_fid",
     "with strategy.scope():\n    def calculate_frechet_distance(mu1, sigma1, mu2, sigma2):\n"
     "        covmean = tf.linalg.sqrtm(tf.matmul(sigma1, sigma2))\n"
     "        return tf.reduce_sum((mu1 - mu2) ** 2) + tf.linalg.trace(sigma1 + sigma2 - 2.0 * covmean)\n"
     "    def FID(images, gen_model):\n        act = inception_model.predict(gen_model(images))\n"
     "        return calculate_frechet_distance(mu1, sigma1, mu2, sigma2)"),
    # round 10.3
    ("8: random numbers drawn into a frame in the cell and only shown after are data made in the cell: load", "load",
     "rng = np.random.RandomState(42)\ndf = pd.DataFrame(rng.randint(0, 10, (3, 4)),\n"
     "                  columns=['A', 'B', 'C', 'D'])\ndf"),
    ("8: constants naming the data folders, only those paths printed, are load (the prints look at no data)", "load",
     "DATA_DIR = Path('/kaggle/input/ecg')\nTRAIN_DIR = DATA_DIR / 'train'\n"
     "print(\"Paths set:\")\nprint(f\"Data path: {DATA_DIR}\")\nprint(TRAIN_DIR)"),
    # round 10.4
    ("8: a cell of constants, a feature list over several lines among them, that sets the model's "
     "hyper-parameters (L1_RATIO, MAX_ITER) is train", "train_constants_cell",
     "BASE_DIR = pathlib.Path('/kaggle/input/market')\nSEED = 42\nFEATURES = [\n    'S2', 'E2',\n    'P8',\n]\n"
     "CV = 5\nL1_RATIO = 0.5\nMAX_ITER = 100000"),
    # round 10.1
    ("a column of a frame named results derived from its own column (units converted) changes a table, not predictions: prep", "prep",
     "results2['btc'] = results2['satoshis'].apply(lambda x: x / 1e8)"),
    ("2/4: a table of models' scores pivoted by a metric's column compares models' scores, evaluate", "evaluate",
     "df_pivot = df_results.pivot(index='Model', columns='Dataset', values='F1-score')"),
    # round 10.5
    ("8: pretrained weights copied into the library's cache, like credentials into ~/.kaggle, are set-up: imports", "imports",
     "!cp ../input/keras-pretrained-models/resnet50* ~/.keras/models/"),
    # round 11.4
    ("2: a cell that only makes a group-by's aggregate table and shapes it under its own name (pivot, sort) "
     "is a summary read for insight or drawn next: explore, not prep", "explore",
     "visits = df.groupby(['month', 'weekday'])['visits'].mean().reset_index()\n"
     "visits = visits.pivot('weekday', 'month', 'visits')\nvisits.sort_index(inplace=True)"),
    # round 11.2
    ("a dataset object built from folders named by strings or a path variable, with no DataLoader: dataset objects "
     "from files on disk are load", "load_dataset_root",
     "ds = MonetPhotoDataset('../input/gan/monet_jpg', '../input/gan/photo_jpg', transform)\nval_ds = WaterDataset(csv_path)"),
    ("a test set got from the notebook's TFRecord-reading helper and re-batched only to peek at is the dataset read: load", "load",
     "test_dataset = get_test_dataset()\ntest_dataset = test_dataset.unbatch().batch(20)\ntest_batch = iter(test_dataset)"),
    # round 11.1
    ("4: a bar plot whose title names a model's score (log losses of several models) plots model results: evaluate", "evaluate",
     "plt.figure(figsize=(15, 10))\nplt.bar(np.arange(len(res)), res.LogLoss)\n"
     "plt.title('Log losses of ensembling methods')\nplt.show()"),
    # round 11.3
    ("2: a loop that hands each candidate max_leaf_nodes to one's own fit-and-score helper to choose one is "
     "tuning: train", "train",
     "for max_leaf_nodes in [5, 50, 500, 5000]:\n"
     "    my_mae = get_mae(max_leaf_nodes, train_X, val_X, train_y, val_y)\n"
     "    print(\"Max leaf nodes: %d  MAE: %d\" % (max_leaf_nodes, my_mae))"),
    # round 12.2
    ("7: a pretrained OpenCV DNN network read and run on an image is a pretrained model used to predict: evaluate", "evaluate",
     "net = cv2.dnn.readNetFromCaffe(proto_file, model_file)\nblob = cv2.dnn.blobFromImage(img, 1.0, (300, 300))\n"
     "net.setInput(blob)\ndetections = net.forward()"),
    ("4/7: what one's own inference helper returns is predictions; shown, it is a model's output looked at: evaluate", "evaluate",
     "submission_resnet = inference(model)\nsubmission_resnet.head(5)"),
    ("4: a validation split's indices drawn are data, not a model's results: explore", "explore",
     "for trn_idx, val_idx in folds.split(target, target):\n"
     "    plt.plot(np.hstack((target.iloc[trn_idx].values, target.iloc[val_idx].values)))\nplt.title('KFold')"),
    # round 12.4
    ("2: a helper that makes a topic model for each candidate number of topics and scores its coherence, "
     "to choose one, is tuning: train", "train",
     "def compute_coherence_values(dictionary, corpus, texts, limit, start=2, step=3):\n"
     "    coherence_values = []\n"
     "    for num_topics in range(start, limit, step):\n"
     "        model = LdaModel(corpus=corpus, num_topics=num_topics, id2word=dictionary)\n"
     "        cm = CoherenceModel(model=model, texts=texts, dictionary=dictionary, coherence='c_v')\n"
     "        coherence_values.append(cm.get_coherence())\n"
     "    return coherence_values"),
    ("4: a loop that fits a model for each alpha only to draw its fitted curve, no candidate scored, shows "
     "fitted curves over data: evaluate, not tuning", "evaluate",
     "alphas = [0, 1, 5, 10, 30]\nplt.scatter(X, y)\nfor a in alphas:\n    L = Lasso(alpha=a)\n"
     "    L.fit(X_train, y_train)\n    plt.plot(X_test, L.predict(X_test), label='alpha={}'.format(a))\n"
     "plt.legend()\nplt.show()"),
    # round 12.1
    ("2: columns made only to feed one's own plotting helper called bare (`seasonal_plot(X, ...)`) are part of "
     "the plot: explore, not prep", "explore",
     "X = average_sales.to_frame()\nX['week'] = X.index.week\nX['day'] = X.index.dayofweek\n"
     "seasonal_plot(X, y='sales', period='week', freq='day')"),
    # round 12.3
    ("2: a generator set up to augment the images (rotation, flips) and read from a folder does two jobs; "
     "the augmentation set-up is the furthest: prep", "prep",
     "train_datagen = ImageDataGenerator(rescale=1./255, rotation_range=40, horizontal_flip=True)\n"
     "train_generator = train_datagen.flow_from_directory(train_dir, target_size=(150, 150), batch_size=20)"),
    # round 13.2
    ("8: the shape of a network's input set alone is the model's configuration: train", "train",
     "input_shape = (28, 28, 1)"),
    ("2: a course's blank where the best tree size found by a search is to be stored is the search: train", "train",
     "candidate_max_leaf_nodes = [5, 25, 50, 100, 250, 500]\nbest_tree_size = ____\nstep_1.check()"),
    ("4: a network graph of the data made with pyvis and drawn to a page is a plot of the data: explore, "
     "not a model", "explore",
     "net = Network(notebook=True)\nnet.add_nodes([1, 2], label=['Alex', 'Cathy'])\nnet.add_edge(1, 2)\n"
     "net.show('nodes.html')"),
    # round 13.1
    ("2: a boosting library's own data containers built from in-memory X/y (`xgb.DMatrix`, `lgb.Dataset`), "
     "with no parameters set and no training, put the data in the form the model reads: prep", "prep",
     "dtrain = xgb.DMatrix(X_train, label=y_train)\ndvalid = xgb.DMatrix(X_valid, label=y_valid)\n"
     "watchlist = [(dtrain, 'train'), (dvalid, 'valid')]"),
    # round 13.3
    ("2: a path constant passed to the notebook's own drawing helper (`color_hist_visualization(path)`) is a "
     "look at the data: explore, not load", "explore",
     "img_path = '../input/gan-getting-started/monet_jpg/05b493ff42.jpg'\ncolor_hist_visualization(img_path)\n"
     "channels_visualization(img_path)"),
    # round 13.4
    ("load: the files of a cloud storage bucket listed, like the input folder's, are load", "load",
     "blobs = gcs.list_blobs(prefix, None, bucket_name)\nnames = []\nfor blob in blobs:\n"
     "    if blob.name.endswith('.mp4'):\n        names.append(blob.name)\nprint(len(names))"),
    # round 14.2
    ("explore: one expression showing a look at the data, nothing kept (a quantile, a sparse row's non-zero "
     "entries, a vectorizer's vocabulary) is explore, not prep", "explore",
     "df_train['SalePrice'].quantile(0.995)"),
    # round 14.3
    ("4: values drawn over a training's epochs (`np.arange(epochs)` on the x axis) are a training curve: "
     "evaluate, not a plot of the data", "evaluate",
     "x = np.arange(epochs)\nplt.plot(x, v_acc)\nplt.plot(x, t_acc)\nplt.show()"),
    # round 14.4
    ("load: TFRecord reading helpers, the image decoded, cast and reshaped inside, are load (rule 3), "
     "not prep", "load",
     "IMAGE_SIZE = [256, 256]\n\ndef decode_image(image):\n    image = tf.image.decode_jpeg(image, channels=3)\n"
     "    image = (tf.cast(image, tf.float32) / 127.5) - 1\n    image = tf.reshape(image, [*IMAGE_SIZE, 3])\n"
     "    return image\n\ndef read_tfrecord(example):\n    fmt = {'image': tf.io.FixedLenFeature([], tf.string)}\n"
     "    example = tf.io.parse_single_example(example, fmt)\n    return decode_image(example['image'])"),
    ("load: a torch Dataset reading images from a folder is load (rule 3), its own resize and tensor "
     "transforms part of reading them; no random augmentation", "load",
     "class ArtDataset(Dataset):\n    def __init__(self, img_dir):\n"
     "        self.paths = [os.path.join(img_dir, p) for p in os.listdir(img_dir)]\n"
     "        self.transform = transforms.Compose([transforms.Resize(64), transforms.ToTensor()])\n\n"
     "    def __len__(self):\n        return len(self.paths)\n\n    def __getitem__(self, i):\n"
     "        return self.transform(Image.open(self.paths[i]).convert('RGB'))\n\n"
     "class PhotoDataset(Dataset):\n    def __init__(self, img_dir):\n"
     "        self.paths = sorted(glob.glob(img_dir + '/*.jpg'))\n\n    def __len__(self):\n"
     "        return len(self.paths)\n\n    def __getitem__(self, i):\n        return Image.open(self.paths[i])"),
    ("load: a GloVe file opened and its lines split into a dict of vectors is reading the file, not "
     "text preparation", "load",
     "embeddings_index = {}\nf = open('glove.6B.100d.txt')\nfor line in f:\n    values = line.split()\n"
     "    embeddings_index[values[0]] = np.asarray(values[1:], dtype='float32')\nf.close()"),
    # round 14.5
    ("3: a gradient-step training loop that keeps the best checkpoint, with the `validate` helper that picks it, "
     "is training: train", "train",
     "def train_one_epoch(model, loader, optimizer):\n    model.train()\n    for x, y in loader:\n"
     "        optimizer.zero_grad()\n        loss = criterion(model(x), y)\n        loss.backward()\n"
     "        optimizer.step()\n\ndef validate(model, loader):\n    model.eval()\n    with torch.no_grad():\n"
     "        return sum(criterion(model(x), y).item() for x, y in loader) / len(loader)\n\n"
     "best = 1e9\nfor epoch in range(EPOCHS):\n    train_one_epoch(model, train_loader, optimizer)\n"
     "    v = validate(model, val_loader)\n    if v < best:\n        best = v\n"
     "        torch.save(model.state_dict(), 'best.pt')"),
    # round 14.1
    ("prep: rows kept between two bounds of one column under a new frame's name are outlier trimming, "
     "not a look at a subset", "prep",
     "new_df = df[(df['cgpa'] < 8.80) & (df['cgpa'] > 5.11)]\nnew_df"),
    # round 15.2
    ("3: a helper named for a look at the data (missing counts) that builds its table inside and is "
     "called to show it is explore", "explore",
     "def get_null_counts(df):\n    nulls = pd.DataFrame(df.isnull().sum().reset_index())\n"
     "    nulls.columns = ['column', 'null_count']\n    nulls['pct'] = nulls['null_count'] / len(df) * 100\n"
     "    return nulls.sort_values('null_count', ascending=False)\n\nget_null_counts(train)"),
    # round 15.3
    ("3: a helper that min-max normalises what it is given, whatever its name, prepares data: prep", "prep",
     "def audio_norm(data):\n    max_data = np.max(data)\n    min_data = np.min(data)\n"
     "    data = (data - min_data) / (max_data - min_data + 1e-6)\n    return data - 0.5"),
    # round 15.5
    ("prep: a cell that is one merge of two frames, its result only shown, does the merge: prep", "prep",
     "pd.merge(df_a, df_b, on='subject_id', how='inner')"),
    ("prep: a read whose call, continued over lines, ends in a column dropped is read + drop: prep (rule 2)", "prep",
     "df = pd.read_csv(\n    'book_sales.csv',\n    index_col='Date',\n).drop('Paperback', axis=1)\ndf.head()"),
    ("prep: a read, then the target taken from it under its own name, is read + define y: prep (rule 2)", "prep",
     "train = pd.read_json('train.json')\ntarget_train = train['is_iceberg']\ntest = pd.read_json('test.json')"),
    # round 16.1
    ("prep: rows picked by a condition on the frame's own column and kept under a new name, nothing shown, derive new data: prep", "prep",
     "df_subset = df[df['IndicatorCode'].isin(chosen_indicators)]\nrecent = df[df['year'] > 2012]"),
    # round 16.2
    ("2: a column made only to feed the plot and dropped again at the cell's end is part of the plot: "
     "explore", "explore",
     "train['na_count'] = train.isna().sum(axis=1)\nplt.figure(figsize=(10, 4))\n"
     "sns.countplot(data=train, x='na_count', hue='Transported')\nplt.title('Missing values per row')\n"
     "train.drop('na_count', axis=1, inplace=True)"),
    # round 16.3
    ("2: a model's own predict_ method run on the test data, its predictions then normalised per user, "
     "uses the model: evaluate", "evaluate",
     "test['conversions'] = conv_model.predict_probabilities(test[['channel', 'device']], model)\n"
     "user_sums = test.groupby('user_id')['conversions'].transform('sum')\n"
     "test['conversions'] = test['conversions'] / user_sums"),
    # round 16.4
    ("2: read + one look at missing values shown is load", "load",
     "import pandas as pd\ndf = pd.read_csv('titanic.csv')\ndf.head()\ndf.isna().sum()"),
    # round 16.5
    ("evaluate: a cell of prints only, one of them a name holding a model's score, looks at results "
     "(rule 4), not at data", "evaluate",
     "print(rmse_model3)\nprint('-------')\nprint(r2model3)"),
    # 2026-12-05: a keyword alone on its line is no value shown (explore_print took it for one)
    ("a keyword alone on its line shows nothing: a folder made, no look at data", "-explore",
     "for d in ['out', 'models']:\n    try:\n        os.makedirs(d)\n    except OSError:\n        pass"),
    ("a keyword alone on its line shows nothing: an empty class", "-explore", "class Config:\n    pass"),
    ("a keyword alone on its line shows nothing: a search loop", "-explore",
     "def first_big(xs):\n    for x in xs:\n        if x > 10:\n            break\n    return"),
    ("... but a name alone on its line shows it", "explore_print", "counts = df['label'].value_counts()\ncounts"),
]


@pytest.fixture(scope="module")
def votes(tmp_path_factory):
    d = tmp_path_factory.mktemp("rules")
    cells = d / "cells.jsonl"
    cells.write_text("".join(json.dumps({"id": f"n{i}.ipynb#0", "notebook": f"n{i}.ipynb", "source": src}) + "\n"
                             for i, (_, _, src) in enumerate(CASES)))
    r = subprocess.run([str(BIN), "label", "-q", str(cells)], capture_output=True, text=True, env=ENV, timeout=60)
    assert r.returncode == 0, r.stderr
    return [json.loads(line)["votes"] for line in r.stdout.splitlines()]


def check_votes(why, want, src, got):
    """WANT: a stage every vote names; "-stage", only that no vote names it (the context
    LFs decide); or an LF's name, that it voted, and every vote the same stage."""
    if want.startswith("-"):
        assert want[1:] not in got.values(), f"{why}: voted {got} on\n{src}"
    elif want not in KEYS:
        assert want in got and len(set(got.values())) == 1, f"{why}: voted {got} on\n{src}"
    else:
        assert got and set(got.values()) == {want}, f"{why}: voted {got} on\n{src}"


@pytest.mark.parametrize("k", range(len(CASES)), ids=[c[0] for c in CASES])
def test_the_rules_vote_the_guides_stage(votes, k):
    why, stage, src = CASES[k]
    check_votes(why, stage, src, votes[k])


# Cells of one notebook, in order: (guide rule, what check_votes expects, source).
# model_output follows the names that hold a model's results (labeling/flow.h): names
# no rule could know from the cell alone.
NOTEBOOK = [
    ("2: fit + predict is evaluate", "evaluate",
     "rf = RandomForestClassifier()\nrf.fit(X_train, y_train)\nout = rf.predict(X_test)"),
    ("4: a plot of predictions made cells earlier is evaluate", "model_output",
     "plt.scatter(y_test, out)\nplt.show()"),
    ("4: a summary of a name derived from them, too", "model_output", "gap = y_test - out\ngap.describe()"),
    ("4: curves from a Keras history kept cells earlier", "model_output", "pd.DataFrame(h.history).plot()"),
    ("4: scores collected in a loop, plotted", "model_output", "plt.plot(ks, acc)"),
    ("4: a fitted model's parameters, shown", "model_output", "gmm.means_"),
    ("6: predictions stacked into features a later model reads are prep, not evaluate", "-evaluate",
     "X_test['rf_out'] = out\nX_test = X_test.fillna(0)"),
    ("the model that reads them", "train", "meta = LogisticRegression()\nmeta.fit(X_test, y_test)"),
    ("a name reassigned from data no longer holds results", "explore", "out = df['price']\nsns.histplot(out)"),
    ("... so a plot of it is explore", "explore", "sns.histplot(out)"),
]
NOTEBOOK_START = ["h = model.fit(X, y, epochs=5)", "hist = model.fit(X, y, epochs=5)\nh = hist",
                  "acc = []\nfor k in ks:\n    acc.append(cross_val_score(KNeighborsClassifier(k), X, y).mean())"]


def votes_of_notebook(tmp_path, sources):
    """`nbstage label` on SOURCES as the cells of one notebook, in order: each cell's votes."""
    cells = tmp_path / "cells.jsonl"
    cells.write_text("".join(json.dumps({"id": f"nb.ipynb#{i}", "notebook": "nb.ipynb", "index": i, "source": s})
                             + "\n" for i, s in enumerate(sources)))
    r = subprocess.run([str(BIN), "label", "-q", str(cells)], capture_output=True, text=True, env=ENV, timeout=60)
    assert r.returncode == 0, r.stderr
    votes = [json.loads(line)["votes"] for line in r.stdout.splitlines()]
    assert len(votes) == len(sources)
    return votes


def check_notebook(tmp_path, cases):
    """CASES (why, want, source) as one notebook: each cell's votes as check_votes wants."""
    for (why, want, code), v in zip(cases, votes_of_notebook(tmp_path, [c[2] for c in cases])):
        check_votes(why, want, code, v)


def test_model_output_follows_results_through_a_notebook(tmp_path):
    got = votes_of_notebook(tmp_path, NOTEBOOK_START + [c[2] for c in NOTEBOOK])[len(NOTEBOOK_START):]
    for (why, want, code), v in zip(NOTEBOOK, got):
        check_votes(why, want, code, v)


# model_output also follows what a train cell made (labeling/flow.h, FLOW_TRAINED): a
# later look at the fitted model is evaluate (guide: "uses a trained model", "model
# interpretation"); a look at the data is not.
TRAINED_NOTEBOOK = ["df = pd.read_csv('houses.csv')", "X = df.drop(columns=['price'])\ny = df['price']",
                    "tree = DecisionTreeRegressor(max_depth=3)\ntree.fit(X, y)", "tree",
                    "df.head()", "print(tree.get_depth())"]


def test_model_output_follows_what_training_made(tmp_path):
    votes = votes_of_notebook(tmp_path, TRAINED_NOTEBOOK)
    assert set(votes[2].values()) == {"train"}, votes[2]
    for k in (3, 5):
        assert votes[k].get("model_output") == "evaluate" and "explore" not in votes[k].values(), (k, votes[k])
    assert "model_output" not in votes[4] and votes[4].get("explore_inspect") == "explore", votes[4]


# A split made in the cell that trains is data, not what training made.
SPLIT_TRAINED_NOTEBOOK = ["df = pd.read_csv('churn.csv')",
                          "X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.5)\n"
                          "pipe = make_pipeline(StandardScaler(), LogisticRegression())\npipe.fit(X_train, y_train)",
                          "c_train = Counter(y_train)\nc_train"]


# So is the data rebound from itself beside a fit (`players = players.fillna(0)`).
REBOUND_TRAINED_NOTEBOOK = ["players = pd.read_sql(query, conn)",
                            "players = players.fillna(0)\nmodel = TSNE(n_components=2)\n"
                            "tsne_comp = model.fit_transform(players[stats_cols])",
                            "sns.kdeplot(players.potential, shade=True)"]


@pytest.mark.parametrize("notebook", [SPLIT_TRAINED_NOTEBOOK, REBOUND_TRAINED_NOTEBOOK], ids=["split", "rebound"])
def test_data_beside_a_fit_is_not_what_training_made(tmp_path, notebook):
    votes = votes_of_notebook(tmp_path, notebook)
    assert "model_output" not in votes[2] and "evaluate" not in votes[2].values(), votes[2]


# round 10.2
# A frame that only gained a column of predictions, its rows the model picked split
# again for a new model: the parts are data (labeling/flow.c), so counting the new
# target's classes is explore, not a look at the first model's results.
SPLIT_OF_PICKED_NOTEBOOK = ["df = pd.read_csv('clients.csv')",
                            "pipe = make_pipeline(StandardScaler(), LogisticRegression())\npipe.fit(X_train, y_train)",
                            "X_val['predicted'] = pipe.predict(X_val)",
                            "picked = X_val[X_val['predicted'] == 1].reset_index(drop=True)\ny = picked['age']",
                            "X_tr, X_te, y_tr, y_te = train_test_split(picked[cols], y, test_size=0.5)",
                            "c_train = Counter(y_tr)\nc_train"]


def test_a_split_of_picked_rows_is_data(tmp_path):
    votes = votes_of_notebook(tmp_path, SPLIT_OF_PICKED_NOTEBOOK)
    assert "model_output" not in votes[5] and "evaluate" not in votes[5].values(), votes[5]


# predictions put into a frame and written out, read by no later model, are evaluate
# (rule 4); out-of-fold predictions kept as a feature a later model reads are prep (rule 6)
PREDICTIONS_OUT_NOTEBOOK = ["df = pd.read_csv('train.csv')",
                            "m = LogisticRegression().fit(X, y)\ny_valid_pred = m.predict_proba(X_valid)[:, 1]",
                            "val = pd.DataFrame()\nval['target'] = y_valid_pred\nval.to_csv('valid.csv', index=False)",
                            "df['oof'] = y_valid_pred\ndf['oof_sq'] = df['oof'] ** 2",
                            "m2 = LogisticRegression().fit(df[['oof', 'oof_sq']], y)"]


def test_predictions_written_out_are_evaluate_and_stacked_ones_prep(tmp_path):
    votes = votes_of_notebook(tmp_path, PREDICTIONS_OUT_NOTEBOOK)
    assert votes[2].get("model_output") == "evaluate" and "prep" not in votes[2].values(), votes[2]
    assert "model_output" not in votes[3] and "prep" in votes[3].values(), votes[3]


# missing values filled in by a model's predictions (imputation) leave the frame data
IMPUTED_NOTEBOOK = ["data = pd.read_csv('cabins.csv')",
                    "m = LinearRegression()\nm.fit(X_known, y_known)\n"
                    "data.loc[data['Cabin_number'].isna(), 'Cabin_number'] = m.predict(X_missing)",
                    "data['Age_group']"]


# round 15.1
# the rows to fill picked by a mask the cell made first (`nan_rows = df.x.isnull()`, then
# `df.loc[nan_rows, 'x'] = y` with `y = lr.predict(...)`): imputation still, the frame stays data
IMPUTED_BY_MASK_NOTEBOOK = ["data = pd.read_csv('houses.csv')",
                            "nan_lot = data.LotFrontage.isnull()\nlr = Ridge()\nlr.fit(X_known, y_known)\n"
                            "y = lr.predict(X_missing)\ndata.loc[nan_lot, 'LotFrontage'] = y",
                            "sns.violinplot(x='Street', y='SalePrice', data=data)"]


@pytest.mark.parametrize("notebook", [IMPUTED_NOTEBOOK, IMPUTED_BY_MASK_NOTEBOOK], ids=["in-place", "through-a-mask"])
def test_values_imputed_by_a_model_leave_the_frame_data(tmp_path, notebook):
    votes = votes_of_notebook(tmp_path, notebook)
    assert "model_output" not in votes[2], votes[2]  # (after_model still reads the cell before)


# unkept_change reads ahead (labeling/flow.h): a cell that derives something and draws
# it is prep when a later cell reads what it made, explore when none does.
KEPT_NOTEBOOK = [
    ("1: a read", "load", "df = pd.read_csv('houses.csv')"),
    ("2: a column made, drawn, and read later: kept, so prep", "prep",
     "df['ratio'] = df.price / df.area\nsns.histplot(df['ratio'])\nplt.show()"),
    ("2: a subset derived only to draw it, never read again: explore", "explore",
     "fig, ax = plt.subplots()\nsmall = df[df.area < 50].copy()\nsmall['ratio'] = small.price / small.area\n"
     "ax.scatter(small.area, small.ratio)"),
    ("2: a column of the live frame made only to draw it, never named again: explore", "unkept_change",
     "fig, ax = plt.subplots()\ndf['per_room'] = df.area / df.rooms\nax.scatter(df.area, df['per_room'])"),
    ("2: a change kept without a plot stays prep", "prep", "df = df.dropna()\ndf['ratio'].describe()"),
]


def test_unkept_change_reads_the_notebook_ahead(tmp_path):
    check_notebook(tmp_path, KEPT_NOTEBOOK)


# feeds_model reads ahead too (labeling/flow.h): what a cell derives and keeps for a
# later prep, train or evaluate cell is prep, however the cell shows it; what only
# later looks read is not.
FEEDS_NOTEBOOK = [
    ("1: a read", "load", "df = pd.read_csv('houses.csv')"),
    ("prep: the features chosen, shown, and read by the split below", "feeds_model",
     "features = [c for c in df.columns if c != 'price']\nprint(features)"),
    ("prep: columns kept for the model, shown by a bare expression", "feeds_model",
     "houses = df[['area', 'price']]\nhouses.head()"),
    ("a subset read only by a later look stays explore", "explore",
     "cheap = df[df.price < 1e5]\nprint(cheap.shape)"),
    ("a later look", "explore", "cheap.describe()"),
    ("a subset drawn is not fed, whoever reads it", "-prep",
     "big = houses[houses.area > 200]\nplt.hist(big.price)"),
    ("5: X and y", "prep", "X = houses[features]\ny = houses['price']\nprint(big.shape)"),
    ("train", "train", "model = RandomForestRegressor()\nmodel.fit(X, y)"),
]


def test_feeds_model_reads_the_notebook_ahead(tmp_path):
    check_notebook(tmp_path, FEEDS_NOTEBOOK)


# helper_call (labeling/flow.h): a cell that only runs one's own plotting helper does
# the helper's job (explore, evaluate or train), where no rule can tell what the call does; evaluate_call: a cell
# that fits and then runs one's own evaluate helper is evaluate.
HELPER_NOTEBOOK = [
    ("1: a read", "load", "df = pd.read_csv('houses.csv')"),
    ("4: a plotting helper", "explore", "def look_at(col):\n    sns.histplot(df[col])\n    plt.show()"),
    ("run, it draws the data", "helper_call", "look_at('price')\nlook_at('area')"),
    ("a cleaning helper", "prep", "def clean(d):\n    return d.dropna().reset_index(drop=True)"),
    ("run, the neighbours speak, not helper_call", "-explore", "clean(df)"),
    ("5: X and y", "prep", "X = df.drop(columns=['price'])\ny = df['price']"),
    # evaluate_call: a fit, then one's own scoring helper run, reaches evaluate (rule 2)
    ("3: a scoring helper", "evaluate",
     "def print_results(m, X, y):\n    print(accuracy_score(y, m.predict(X)))"),
    ("2: fit + the scoring helper run", "evaluate_call",
     "clf = LogisticRegression().fit(X, y)\nprint_results(clf, X, y)"),
    ("2: a search fitted, then scored by it", "evaluate_call",
     "grid = GridSearchCV(SVC(), {'C': [1, 10]})\ngrid.fit(X, y)\nprint(grid.best_params_)\n"
     "print_results(grid, X, y)"),
    ("a fit alone stays train", "train", "svc = SVC().fit(X, y)"),
    ("2: a split, then the scoring helper's result kept", "evaluate_call",
     "X_tr, X_va, y_tr, y_va = train_test_split(X, y)\nacc = print_results(svc, X_va, y_va)"),
    ("its result kept, the plotting helper's run is still a plot", "helper_call", "ax = look_at('year')"),
    ("3: a loader beside a scoring helper: the cell is evaluate", "evaluate",
     "def read_split(path):\n    return pd.read_csv(path + 'train.csv'), pd.read_csv(path + 'test.csv')\n\n"
     "def score_of(m, X, y):\n    return accuracy_score(y, m.predict(X))"),
    ("the loader run reads (load), not an evaluate helper run", "load", "train, test = read_split('data/')"),
    ("2: the scoring helper's result kept as the best setting tunes", "train",
     "best_c = print_results(X_va, y_va)"),
    ("3: a training-loop helper", "train",
     "def run_epochs(loader):\n    for xb, yb in loader:\n        optimizer.zero_grad()\n"
     "        loss = criterion(net(xb), yb)\n        loss.backward()\n        optimizer.step()"),
    ("its run trains", "train", "run_epochs(train_loader)"),
]


def test_helper_call_reads_what_a_helper_is_for(tmp_path):
    check_notebook(tmp_path, HELPER_NOTEBOOK)


# A display helper defined in an evaluate cell (the TPU starters' display_batch_of_images,
# which can title each image with a prediction) looks at the data when it is shown a batch
# of data only (guide rule 4); shown predictions, or fitting a model itself, it evaluates.
DISPLAY_NOTEBOOK = [
    ("4: display helpers beside a scoring one", "evaluate",
     "def display_batch_of_images(batch, predictions=None):\n    for i, img in enumerate(batch):\n"
     "        plt.subplot(4, 4, i + 1)\n        plt.imshow(img)\n        if predictions is not None:\n"
     "            plt.title(CLASSES[predictions[i]])\n\n"
     "def plot_knn(k):\n    clf = KNeighborsClassifier(n_neighbors=k)\n    clf.fit(X, y)\n"
     "    plt.contourf(xx, yy, clf.predict(grid).reshape(xx.shape))\n\n"
     "def score_of(m, X, y):\n    return accuracy_score(y, m.predict(X))"),
    ("4: a batch of data shown", "-evaluate", "one_batch = next(ds_iter)\ndisplay_batch_of_images(one_batch)"),
    ("4: predictions shown", "evaluate", "display_batch_of_images(images, predictions=preds)"),
    ("4: the helper fits a model and draws its regions", "evaluate", "plot_knn(1)"),
]


def test_a_display_helper_shown_data_only_explores(tmp_path):
    check_notebook(tmp_path, DISPLAY_NOTEBOOK)


LABELS = ROOT / "tests" / "labels"
SHARED = ROOT.parent / "shared"
KEYS = {"load", "prep", "train", "evaluate", "explore", "imports", "none"}


def test_the_label_files_are_in_the_guides_format_and_disjoint():
    """tests/labels/*.tsv: the guide's five columns, its keys and confidences, no cell in
    two files or twice, none of dev.tsv's notebooks, and (with ../shared) real cells."""
    dev = set()
    if (SHARED / "labeled" / "dev.tsv").exists():
        dev = {line.split("\t")[0].split("#")[0] for line in open(SHARED / "labeled" / "dev.tsv")}
    seen = set()
    for f in sorted(LABELS.glob("*.tsv")):
        lines = f.read_text().splitlines()
        assert lines[0] == "cell_id\tlabel\tsecondary\tconfidence\tnote", f
        for line in lines[1:]:
            cid, label, second, conf, _ = line.split("\t")
            nb, _, k = cid.rpartition("#")
            assert nb.endswith(".ipynb") and k.isdigit(), (f, cid)
            assert label in KEYS and second in KEYS | {""} and conf in {"h", "m", "l"}, (f, line)
            assert cid not in seen, (f, cid)
            assert nb not in dev, (f, cid)
            seen.add(cid)
            if dev:
                assert (SHARED / "corpus" / nb).is_file(), (f, cid)
    assert len(seen) > 2000



@pytest.mark.long  # labels the whole corpus: ~70 CPU-seconds
@pytest.mark.plain_build_only  # labels the whole corpus: the sanitizer unit build reads it already
@pytest.mark.skipif(not (SHARED / "corpus").is_dir(), reason="../shared/corpus is not here")
def test_the_shipped_rules_score_no_worse_than_measured(tmp_path):
    """The label model with the shipped rules, fitted on the whole corpus, on dev.tsv and on
    the held-out file of tests/labels: at least the figures the README gives, less half a
    point (88.8% and 82.7% on 2026-12-02, b476fdd).  A rule edit that breaks a
    pattern or a macro shows here first: one that dropped a rule block by mistake scored 62%
    on dev."""
    cells, weak = tmp_path / "cells.jsonl", tmp_path / "weak.jsonl"
    for args in (["ingest", "-q", "-o", cells, SHARED / "corpus"], ["label", "-q", "-o", weak, cells]):
        r = subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True, env=ENV, timeout=300)
        assert r.returncode == 0, r.stderr
    for gold, floor in ((SHARED / "labeled" / "dev.tsv", 0.883), (LABELS / "unseen-held-out.tsv", 0.821)):
        r = subprocess.run([str(BIN), "eval", "--predictions", "--gold", str(gold), str(weak)],
                           capture_output=True, text=True, env=ENV, timeout=120)
        assert r.returncode == 0, r.stderr
        acc = float(next(l for l in r.stdout.splitlines() if l.startswith("accuracy")).split()[1].rstrip(","))
        assert acc >= floor, f"{gold.name}: the label model scores {acc:.4f}, under {floor}"
